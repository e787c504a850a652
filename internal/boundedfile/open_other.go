//go:build !unix

package boundedfile

// openFlags: elsewhere, opening a named pipe does not wait for a writer.
const openFlags = 0
