//go:build unix

package boundedfile

import "syscall"

// openFlags: a named pipe opened non-blocking returns at once instead of
// waiting for a writer (regular files ignore the flag), and a terminal
// opened without O_NOCTTY could become this process's controlling one.
const openFlags = syscall.O_NONBLOCK | syscall.O_NOCTTY
