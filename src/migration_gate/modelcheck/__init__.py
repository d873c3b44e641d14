"""check-models: the schema the chain produces at head against the models' MetaData."""
