"""The diffusion family: few-step diffusers pipelines (SD-Turbo, SDXL-Turbo, SDXL-Lightning).

diffusers is imported only by the modules that load or run a pipeline, so a server running
min-dalle never imports it.
"""
