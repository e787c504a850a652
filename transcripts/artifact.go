package transcripts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ceremony-tuf/ceremony/internal/boundedfile"
)

// Artifact names a stored artifact from an event's data. It encodes as
// {"artifact":"sha256:<64 lowercase hex>"}; any JSON object in an event's
// data with a member named "artifact" is such a reference, and Verify checks
// that the artifact it names exists and hashes to its name.
type Artifact struct {
	Digest string `json:"artifact"` // "sha256:" and the hex SHA-256 of the bytes
}

// ArtifactDir returns the directory that holds a transcript's artifacts:
// the transcript's path without ".jsonl", plus ".artifacts". An artifact
// with SHA-256 H (hex) is the file sha256/H inside it.
func ArtifactDir(transcript string) string {
	return strings.TrimSuffix(transcript, ".jsonl") + ".artifacts"
}

// artifactPath returns the file for a valid artifact name.
func artifactPath(transcript, name string) string {
	return filepath.Join(ArtifactDir(transcript), "sha256", strings.TrimPrefix(name, artifactPrefix))
}

// ReadArtifact returns the bytes of an artifact of the transcript at path,
// after checking that they hash to its name. ReadArtifact only reads.
func ReadArtifact(path string, a Artifact) ([]byte, error) {
	if !validArtifactName(a.Digest) {
		return nil, fmt.Errorf("artifact name %q is not sha256:<64 lowercase hex>", clip(a.Digest))
	}
	b, err := loadArtifact(path, a.Digest)
	if err != nil {
		return nil, fmt.Errorf("read %w", err)
	}
	return b, nil
}

// loadArtifact reads the artifact named name (a valid name) and checks
// that it is a regular file, not a symbolic link, of at most
// boundedfile.Artifact's limit, and that its bytes hash to its name.
func loadArtifact(transcript, name string) ([]byte, error) {
	p := artifactPath(transcript, name)
	// A link would make the store name bytes kept elsewhere; a FIFO or a
	// device would block or never end, and boundedfile refuses both.
	if fi, err := os.Lstat(p); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return nil, fmt.Errorf("artifact %s cannot be read: %s is a symbolic link, not a regular file: %w", name, p, ErrIntegrity)
	}
	b, err := boundedfile.Read(p, boundedfile.Artifact)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("artifact %s is missing (%s): %w", name, p, ErrIntegrity)
	}
	if err != nil {
		return nil, fmt.Errorf("artifact %s cannot be read: %v: %w", name, err, ErrIntegrity)
	}
	if got := artifactPrefix + hex.EncodeToString(sha256Sum(b)); got != name {
		return nil, fmt.Errorf("artifact %s has been altered: its bytes hash to %s: %w", name, got, ErrIntegrity)
	}
	return b, nil
}

// artifactStored reports why the artifact named name is not in the store
// as a regular file of at most boundedfile.Artifact's limit, or nil. It
// reads none of its bytes: loadArtifact checks those.
func artifactStored(transcript, name string) error {
	p := artifactPath(transcript, name)
	fi, err := os.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("artifact %s is missing (%s): %w", name, p, ErrIntegrity)
	case err != nil:
		return fmt.Errorf("artifact %s cannot be read: %v: %w", name, err, ErrIntegrity)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("artifact %s cannot be read: %s is not a regular file: %w", name, p, ErrIntegrity)
	case fi.Size() > boundedfile.Artifact.Max:
		return fmt.Errorf("artifact %s cannot be read: %s holds %d bytes, over the limit of %d: %w", name, p, fi.Size(), boundedfile.Artifact.Max, ErrIntegrity)
	}
	return nil
}

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

// artifactIntact reports why the artifact named name is not intact, or nil.
func artifactIntact(transcript, name string) error {
	_, err := loadArtifact(transcript, name)
	return err
}

// putArtifact stores the bytes of r under their digest beside the
// transcript at path: written to a temporary file, fsynced, renamed into
// place, and the directory fsynced, so that an artifact either is complete
// or is not there. Storing the same bytes again changes nothing. Bytes that
// fail the secret screen, or more than boundedfile.Artifact's limit (which
// no reader of the transcript would read), are refused before anything is
// written.
func putArtifact(path string, r io.Reader) (Artifact, error) {
	b, err := readArtifactBytes(r)
	if err != nil {
		return Artifact{}, fmt.Errorf("store artifact: %w", err)
	}
	if e := screenArtifact(b); e != nil {
		return Artifact{}, fmt.Errorf("store artifact: byte %d: %s", e.col, e.msg)
	}
	dir := filepath.Join(ArtifactDir(path), "sha256")
	if err := mkdirDurable(dir); err != nil {
		return Artifact{}, fmt.Errorf("artifact directory: %w", err)
	}
	name := artifactPrefix + hex.EncodeToString(sha256Sum(b))
	final := artifactPath(path, name)
	if _, err := os.Lstat(final); err == nil {
		if err := artifactIntact(path, name); err != nil {
			return Artifact{}, fmt.Errorf("store artifact: %w", err)
		}
		// It may have been renamed into place by a process that died before
		// its directory fsync.
		return Artifact{name}, syncDir(dir)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return Artifact{}, fmt.Errorf("store artifact: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return Artifact{}, fmt.Errorf("store artifact: %w", err)
	}
	if err := syncFile(tmp); err != nil {
		tmp.Close()
		return Artifact{}, fmt.Errorf("store artifact: fsync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return Artifact{}, fmt.Errorf("store artifact: %w", err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return Artifact{}, fmt.Errorf("store artifact: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return Artifact{}, fmt.Errorf("store artifact: fsync directory: %w", err)
	}
	return Artifact{name}, nil
}

// readArtifactBytes reads r whole, within boundedfile.Artifact's limit,
// into one buffer of its size when r says its length (a *bytes.Reader
// does), so that storing a large role costs its size once.
func readArtifactBytes(r io.Reader) ([]byte, error) {
	lim := boundedfile.Artifact
	var buf bytes.Buffer
	if l, ok := r.(interface{ Len() int }); ok {
		// ReadFrom wants MinRead bytes free to read the EOF into.
		buf.Grow(int(min(int64(l.Len()), lim.Max)) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(io.LimitReader(r, lim.Max+1)); err != nil {
		return nil, err
	}
	if int64(buf.Len()) > lim.Max {
		return nil, fmt.Errorf("more than the %s %s may be: ceremony stores no larger file, so that every reader of the transcript can read it", boundedfile.FormatSize(lim.Max), lim.What)
	}
	return buf.Bytes(), nil
}

// mkdirDurable creates dir and any missing parents, fsyncing each parent
// whose entries changed.
func mkdirDurable(dir string) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirDurable(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(parent)
}

// openRegular opens the transcript at path with flag, to write to it,
// when it is a regular file within boundedfile.Transcript's limit, as
// every reader requires: checked before it is opened (opening a device
// or a FIFO can have effects) and again once it is. flag gains what
// keeps a FIFO from blocking the open.
func openRegular(path string, flag int) (*os.File, error) {
	lim := boundedfile.Transcript
	fi, err := os.Stat(path)
	if err == nil {
		err = lim.Check(path, fi)
	}
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, flag|openFlags, 0)
	if err != nil {
		return nil, err
	}
	if fi, err = f.Stat(); err == nil {
		err = lim.Check(path, fi)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// syncFile fsyncs f. Tests replace it to count calls and inject failures.
var syncFile = func(f *os.File) error { return f.Sync() }

// syncDir fsyncs a directory so that entries created or renamed in it
// survive a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return syncFile(d)
}
