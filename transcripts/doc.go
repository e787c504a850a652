// Package transcripts writes, reads and verifies ceremony transcripts: the
// engine's event log, one JSON event per line, each line naming the SHA-256
// of the line before, with large inputs and outputs stored beside it as
// content-addressed artifacts. docs/TRANSCRIPT.md specifies the format.
//
// A Writer (Create, Open, OpenRepair) appends an event and fsyncs it before
// Append returns, so that the engine can let an event take effect only once
// it is on disk. One Writer at a time may hold a transcript, across
// processes (ErrInUse): the lock is a flock on the transcript file itself,
// and before each append the Writer checks that the file still ends where
// it left it.
//
// Reading never writes: Verify, Events, ReadArtifact, ReadHead and Open
// change no file, and Open refuses a torn last line (ErrTorn). Reading
// needs no lock, and every read is bounded (internal/boundedfile): the
// transcript must be a regular file of at most boundedfile.Transcript's
// limit, read a line at a time, and an artifact a regular file of at most
// boundedfile.Artifact's, the most a Writer stores. OpenRepair alone mends
// the one fault a crash leaves: it completes a last event that lacks only
// its newline, or else moves the torn bytes to an artifact and records the
// repair in the transcript, and says which it did.
//
// Verify checks a transcript and its artifacts and locates every problem;
// Events iterates over the checked events, for the engine's fold to replay.
//
// The package refuses any event whose data, and any artifact whose bytes,
// hold a member named like a secret (a PIN, PUK, password, management key
// or private key), a PEM private key or a PIN in a key URI: a last line of
// defence, since the engine never puts one there.
package transcripts
