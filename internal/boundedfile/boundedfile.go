// Package boundedfile reads files that may be hostile: a signing request
// from removable media, a plan, a repository's metadata, a pin-source.
//
// Every read refuses what is not a regular file once symbolic links are
// followed (a directory, a named pipe that would hang the command, a
// device such as /dev/zero that never ends), and any file larger than the
// limit for its kind, before reading a byte of it. The limit holds while
// reading too, so a file that grows after it was opened is refused, and
// memory stays the size of the file: Read allocates what the file holds,
// not the doubling io.ReadAll leaves behind.
//
// The limits for each kind of file are defined here, in one place, with
// the command-line flag that raises each; docs/LIMITS.md lists them.
// Callers map ErrTooLarge and ErrNotRegular to exit code 3 (bad input).
package boundedfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/ceremony-tuf/ceremony/internal/untrusted"
)

var (
	// ErrTooLarge: the file is larger than its limit, or grew past it
	// while it was read.
	ErrTooLarge = errors.New("file too large")
	// ErrNotRegular: the path names a directory, a named pipe, a device
	// or a socket, not a regular file.
	ErrNotRegular = errors.New("not a regular file")
)

// Limit is how large a kind of file may be, and how to say so.
type Limit struct {
	// What names the kind of file for messages, with its article ("a
	// signing request").
	What string
	// Max is the most bytes the file may hold.
	Max int64
	// Flag is the command-line flag that raises Max, or "" when nothing
	// can: then a larger file cannot be of this kind.
	Flag string
}

// Error reports a file that could not be read, or was refused, and what
// to do about it. Its message names the path escaped by untrusted.Line,
// since a file name is as hostile as the file.
type Error struct {
	Path  string
	Limit Limit
	// Size is the file's size when it was opened, or -1 when it grew past
	// Limit.Max while it was read. Set with ErrTooLarge.
	Size int64
	// Type is the file's type (fs.ModeDir, fs.ModeNamedPipe, …). Set
	// with ErrNotRegular.
	Type fs.FileMode
	// Err is ErrTooLarge, ErrNotRegular, or what the system said (an
	// fs.ErrNotExist, a permission error, an I/O error).
	Err error
}

func (e *Error) Error() string {
	path := untrusted.Line(e.Path)
	switch e.Err {
	case ErrNotRegular:
		return fmt.Sprintf("%s is %s, not a regular file: %s is read only from a regular file (or a symbolic link to one); copy it into a file and give that file's path",
			path, typeName(e.Type), e.Limit.What)
	case ErrTooLarge:
		how := fmt.Sprintf("is %s, more than", FormatSize(e.Size))
		if e.Size < 0 {
			how = "grew while it was read, past"
		}
		hint := "it cannot be one: check that the path names the right file"
		if e.Limit.Flag != "" {
			hint = "if it is genuine, raise the limit with " + e.Limit.Flag
		}
		return fmt.Sprintf("%s %s the %s %s may be; %s", path, how, FormatSize(e.Limit.Max), e.Limit.What, hint)
	}
	return fmt.Sprintf("read %s from %s: %v", e.Limit.What, path, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

func typeName(t fs.FileMode) string {
	switch {
	case t&fs.ModeDir != 0:
		return "a directory"
	case t&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case t&fs.ModeCharDevice != 0:
		return "a character device"
	case t&fs.ModeDevice != 0:
		return "a block device"
	case t&fs.ModeSocket != 0:
		return "a socket"
	case t&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "an irregular file"
}

// fail wraps a system error for path. A *fs.PathError is unwrapped, since
// its message would show the path raw.
func (l Limit) fail(path string, err error) *Error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &Error{Path: path, Limit: l, Err: err}
}

// Check returns an *Error unless fi, what a stat of path returned, is a
// regular file within the limit: for a file opened otherwise than for
// reading (a transcript opened to append), checked as Open checks.
func (l Limit) Check(path string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return &Error{Path: path, Limit: l, Type: fi.Mode().Type(), Err: ErrNotRegular}
	}
	if fi.Size() > l.Max {
		return &Error{Path: path, Limit: l, Size: fi.Size(), Err: ErrTooLarge}
	}
	return nil
}

// File is a regular file open for reading within a limit. Its Read
// returns an *Error wrapping ErrTooLarge, after the first Limit.Max bytes,
// when the file holds more.
type File struct {
	f    *os.File
	path string
	lim  Limit
	size int64
	left int64 // bytes Read may still return
	err  error // sticky ErrTooLarge
}

// Open opens path for reading when, with symbolic links followed, it is a
// regular file of at most lim.Max bytes. It is for readers that stream
// (line by line, say); Read is for the rest.
func Open(path string, lim Limit) (*File, error) {
	// Stat before opening, so that a device or a named pipe is refused
	// without being opened: opening one can have effects (a tape rewinds,
	// a serial line is raised, a FIFO's writer is let go).
	fi, err := os.Stat(path)
	if err != nil {
		return nil, lim.fail(path, err)
	}
	if err := lim.Check(path, fi); err != nil {
		return nil, err
	}
	return openRegular(path, lim)
}

// openRegular opens path and checks the file it opened, which may not be
// the one a Stat of path saw.
func openRegular(path string, lim Limit) (*File, error) {
	// openFlags keep a named pipe from blocking the open and a terminal
	// from becoming this process's; the file's own stat is what decides.
	f, err := os.OpenFile(path, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, lim.fail(path, err)
	}
	fi, err := f.Stat()
	if err == nil {
		err = lim.Check(path, fi)
	}
	if err != nil {
		f.Close()
		if _, ok := err.(*Error); !ok {
			err = lim.fail(path, err)
		}
		return nil, err
	}
	return &File{f: f, path: path, lim: lim, size: fi.Size(), left: max(lim.Max, 0)}, nil
}

// Size is the file's size when it was opened.
func (f *File) Size() int64 { return f.size }

// ReadAt reads len(p) bytes from offset off, within the limit: bytes at
// or past Limit.Max are never returned, and asking for them is an *Error
// wrapping ErrTooLarge (for a read that starts below the limit, only when
// the file holds them).
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, f.lim.fail(f.path, errors.New("negative offset"))
	}
	// One byte beyond the limit tells a file that ends there from one
	// that goes on, as Read does.
	if room := f.lim.Max + 1 - off; int64(len(p)) > room {
		p = p[:max(room, 0)]
	}
	n, err := f.f.ReadAt(p, off)
	if off+int64(n) > f.lim.Max {
		return int(max(f.lim.Max-off, 0)), &Error{Path: f.path, Limit: f.lim, Size: -1, Err: ErrTooLarge}
	}
	if err != nil && err != io.EOF {
		err = f.lim.fail(f.path, err)
	}
	return n, err
}

// Read reads up to len(p) bytes, within the limit.
func (f *File) Read(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	// Ask for one byte beyond the limit, to tell a file that ends there
	// from one that goes on.
	if int64(len(p)) > f.left+1 {
		p = p[:f.left+1]
	}
	n, err := f.f.Read(p)
	if int64(n) > f.left {
		n, f.left = int(f.left), 0
		f.err = &Error{Path: f.path, Limit: f.lim, Size: -1, Err: ErrTooLarge}
		return n, f.err
	}
	f.left -= int64(n)
	if err != nil && err != io.EOF {
		err = f.lim.fail(f.path, err)
	}
	return n, err
}

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }

// Read returns the contents of path when, with symbolic links followed,
// it is a regular file of at most lim.Max bytes. Errors are *Error.
func Read(path string, lim Limit) ([]byte, error) {
	f, err := Open(path, lim)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Allocate what the file holds, once: memory stays the file's size,
	// and a secret read this way leaves no stray copies behind in buffers
	// outgrown.
	b := make([]byte, f.size)
	n, err := io.ReadFull(f, b)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return b[:n], nil // it shrank since it was opened
	case err != nil:
		return nil, err
	}
	// It may have grown since, or not have told its size (files in /proc
	// say 0): read on, still within the limit.
	rest, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		b = append(b, rest...)
	}
	return b, nil
}
