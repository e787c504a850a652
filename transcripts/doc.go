// Package transcripts writes, reads and verifies ceremony transcripts: the
// engine's event log, one JSON event per line, each line naming the SHA-256
// of the line before, with large inputs and outputs stored beside it as
// content-addressed artifacts. docs/TRANSCRIPT.md specifies the format.
//
// A Writer (Create, Open) appends an event and fsyncs it before Append
// returns, so that the engine can let an event take effect only once it is
// on disk. One Writer at a time may hold a transcript, across processes
// (ErrInUse). Open repairs the one fault a crash leaves, a torn last line,
// and records the repair in the transcript.
//
// Verify checks a transcript and its artifacts and locates every problem;
// Events iterates over the checked events, for the engine's fold to replay.
//
// The package refuses any event whose data has a member named like a
// secret (a PIN, PUK, password, management key or private key): a last line
// of defence, since the engine never puts one there.
package transcripts
