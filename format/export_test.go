package format

// MaxContextSize is the largest serialized encryption context, for tests.
const MaxContextSize = maxContextSize
