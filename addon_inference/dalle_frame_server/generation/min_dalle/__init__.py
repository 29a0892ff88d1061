"""min-dalle's generation backends: reference, fast (exact), int8 drafting and int8-raw."""
