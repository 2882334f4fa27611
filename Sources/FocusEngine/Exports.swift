// The engine's API speaks in the model's, decoders', store's and tokenizer's types; callers
// (the command line, benchmarks) import this module alone.
@_exported import FocusDecoding
@_exported import FocusModel
@_exported import FocusStore
@_exported import FocusTokenizer
