package main

import (
	"context"
	"flag"

	"github.com/ceremony-tuf/ceremony/internal/boundedfile"
)

// command is one subcommand. name may have two words ("keys generate").
type command struct {
	name    string
	summary string // one line for the command list
	usage   string // the synopsis after "ceremony NAME"
	help    string // what it does, its flags' meaning, and an example
	// setup declares the command's flags on fs and returns what runs it
	// once they are parsed; define makes it from a flags and a run
	// function.
	setup func(fs *flag.FlagSet) runFunc
	// limits are the kinds of file the command reads whose limit a flag
	// raises (docs/LIMITS.md): the dispatcher declares each flag, and the
	// command asks env.limit for the limit in force.
	limits []boundedfile.Limit
	// appends is set for a command that appends to a workspace's
	// transcript: the dispatcher then prints the head once it has.
	appends bool
}

// reads returns c with the limits of the kinds of file it reads.
func (c *command) reads(kinds ...boundedfile.Limit) *command {
	c.limits = kinds
	return c
}

// appending returns c marked as a command that appends to a transcript.
func (c *command) appending() *command {
	c.appends = true
	return c
}

// runFunc does a command's work once its flags are parsed.
type runFunc = func(ctx context.Context, e *env, args []string) error

// define makes a command from its text, a function that declares its
// flags on a flag set and returns where their values land (O), and the
// named function that runs it with them.
func define[O any](c command, flags func(*flag.FlagSet) *O, run func(context.Context, *env, *O, []string) error) *command {
	c.setup = func(fs *flag.FlagSet) runFunc {
		o := flags(fs)
		return func(ctx context.Context, e *env, args []string) error { return run(ctx, e, o, args) }
	}
	return &c
}

// noFlags is the flags function of a command that has none.
func noFlags(*flag.FlagSet) *struct{} { return &struct{}{} }

// commands lists every command: 'ceremony help' shows them sorted by name.
var commands = []*command{
	// In the ceremony room.
	define(command{name: "start", summary: "open a ceremony from a plan: load, verify, stage, review",
		usage: "PLAN [--workspace DIR] [--publish-dir DIR] [--allow-reference-time] [--max-metadata-size SIZE] [--json]", help: startHelp}, startFlags, runStart).
		reads(boundedfile.Metadata).appending(),
	define(command{name: "sign", summary: "sign the staged roles with a device key, or an air-gapped request",
		usage: "--key URI [--workspace DIR] [--allow-last-pin-try] | REQUEST [--key URI] [--root ROOT] --out RESPONSE", help: signHelp}, signFlags, runSign).
		appending(),
	define(command{name: "status", summary: "who has signed, who is missing, per role and threshold",
		usage: "[--workspace DIR] [--json]", help: statusHelp}, workspaceJSONFlags, runStatus),
	define(command{name: "request export", summary: "write signing requests for air-gapped signers",
		usage: "[--workspace DIR] --out DIR [--json]", help: requestExportHelp}, requestExportFlags, runRequestExport),
	define(command{name: "request show", summary: "show what a signing request asks, with no device: the review 'sign REQUEST' shows",
		usage: "REQUEST [--root ROOT] [--json]", help: requestShowHelp}, requestShowFlags, runRequestShow),
	define(command{name: "collect", summary: "check air-gapped signers' responses and record their signatures",
		usage: "[--workspace DIR] [--json] RESPONSE...", help: collectHelp}, collectFlags, runCollect).
		appending(),
	define(command{name: "include", summary: "bring projects' metadata, signed by their maintainers, into the ceremony",
		usage: "[--workspace DIR] [--json] FILE...", help: includeHelp}, includeFlags, runInclude).
		reads(boundedfile.Metadata).appending(),
	define(command{name: "publish", summary: "write the signed metadata once every threshold holds",
		usage: "[--workspace DIR] [--online-key URI] [--into DIR]", help: publishHelp}, publishFlags, runPublish).
		appending(),
	define(command{name: "resume", summary: "mend what a crash left in the transcript, and go on",
		usage: "[--workspace DIR]", help: resumeHelp}, workspaceFlags, runResume).
		appending(),
	define(command{name: "close", summary: "end the ceremony and print the transcript's head for witnesses",
		usage: "[--workspace DIR] [--json]", help: closeHelp}, workspaceJSONFlags, runClose).
		appending(),
	define(command{name: "abort", summary: "give the ceremony up, with the reason, for the record: nothing is published",
		usage: "--reason TEXT [--workspace DIR] [--json]", help: abortHelp}, abortFlags, runAbort).
		appending(),
	define(command{name: "tui", summary: "the guided terminal UI for the ceremony room",
		usage: "[WORKSPACE] [--online-key URI] [--allow-last-pin-try] [--plain]", help: tuiHelp}, tuiFlags, runTUICommand),

	// Devices and keys.
	define(command{name: "devices", summary: "list tokens and cards, with the keys on each",
		usage: "[--json]", help: devicesHelp}, jsonFlag, runDevices),
	define(command{name: "keys show", summary: "show a key's keyid, TUF key object, PEM and PGP words",
		usage: "[--json] URI", help: keysShowHelp}, keysShowFlags, runKeysShow),
	define(command{name: "keys generate", summary: "generate a key pair on a token or card",
		usage: "--type TYPE [--pin-policy P] [--touch-policy P] [--allow-last-pin-try] [--json] URI", help: keysGenerateHelp}, keysGenerateFlags, runKeysGenerate),
	define(command{name: "keys import", summary: "a participant key file from a public key or a PIV certificate",
		usage: "PEM|CERT --out KEY.json [--rstuf-online-key-uri URI] [--rstuf-key-name NAME] [--json]", help: keysImportHelp}, keysImportFlags, runKeysImport),
	define(command{name: "keys attest", summary: "verify a YubiKey key's attestation and print what it proves",
		usage: "[--json] [--roots PEM] URI", help: keysAttestHelp}, keysAttestFlags, runKeysAttest),

	// Repository Service for TUF (docs/RSTUF.md).
	define(command{name: "rstuf bootstrap-payload", summary: "write RSTUF's bootstrap payload from an RSTUF bootstrap ceremony",
		usage: "--out FILE [--workspace DIR] [--json]", help: rstufBootstrapHelp}, rstufPayloadFlags, runRSTUFBootstrap),
	define(command{name: "rstuf update-payload", summary: "write RSTUF's root update payload from an RSTUF rotation",
		usage: "--out FILE [--workspace DIR] [--json]", help: rstufUpdateHelp}, rstufPayloadFlags, runRSTUFUpdate),
	define(command{name: "rstuf sign", summary: "sign a root RSTUF holds pending, from its GET /api/v1/metadata/sign body",
		usage: "PENDING --key URI --out SIGNATURE [--root ROOT] [--allow-last-pin-try]", help: rstufSignHelp}, rstufSignFlags, runRSTUFSign),

	// Maintainers (PEP 480).
	define(command{name: "maintainer enroll", summary: "enroll a YubiKey key for a project: attestation and proof of possession",
		usage: "--project NAME --nonce HEX --key piv:URI [--generate] [--out FILE]", help: maintainerEnrollHelp}, maintainerEnrollFlags, runMaintainerEnroll),
	define(command{name: "maintainer verify-enrollment", summary: "check an enrollment: attestation, policies, proof of possession",
		usage: "FILE --project NAME --nonce HEX [--roots PEM] [--pin-policy P] [--touch-policy P] [--max-age-days N] [--at TIME] [--json]", help: maintainerVerifyEnrollmentHelp},
		maintainerVerifyEnrollmentFlags, runMaintainerVerifyEnrollment),
	define(command{name: "maintainer sign", summary: "sign a project's delegated targets metadata with a YubiKey",
		usage: "METADATA --key URI [--out FILE]", help: maintainerSignHelp}, maintainerSignFlags, runMaintainerSign),
	define(command{name: "maintainer request", summary: "a signing request for a project's metadata, for maintainers who sign apart",
		usage: "METADATA --project NAME --delegator FILE --out REQUEST", help: maintainerRequestHelp}, maintainerRequestFlags, runMaintainerRequest),
	define(command{name: "maintainer collect", summary: "add maintainers' response signatures to a project's metadata",
		usage: "METADATA --project NAME --delegator FILE RESPONSE...", help: maintainerCollectHelp}, projectFlags, runMaintainerCollect),

	// Auditors.
	define(command{name: "verify", summary: "verify a whole published TUF repository from a trusted root",
		usage: "METADATA_DIR --root TRUSTED_ROOT [--at TIME] [--strict] [--transcripts DIR] [--max-metadata-size SIZE] [--json]", help: verifyHelp}, verifyFlags, runVerify).
		reads(boundedfile.Metadata),
	define(command{name: "transcript verify", summary: "check a transcript's hash chain and every artifact it names",
		usage: "FILE [--head DIGEST] [--root TRUSTED_ROOT] [--json]", help: transcriptVerifyHelp}, transcriptVerifyFlags, runTranscriptVerify),
	define(command{name: "transcript replay", summary: "re-run a ceremony from its transcript and compare what it published",
		usage: "FILE [--head DIGEST] [--against METADATA_DIR] [--json]", help: transcriptReplayHelp}, transcriptReplayFlags, runTranscriptReplay),
	define(command{name: "transcript report", summary: "write a ceremony's printable audit report (HTML) from its transcript",
		usage: "FILE --out DIR [--json]", help: transcriptReportHelp}, transcriptReportFlags, runTranscriptReport),

	// Everyone.
	define(command{name: "demo", summary: "bootstrap a repository and run a quarterly ceremony on throwaway SoftHSM tokens",
		usage: "[--out DIR] [--tui]", help: demoHelp}, demoFlags, runDemo),
	define(command{name: "version", summary: "print the version, commit and the binary's SHA-256",
		usage: "[--json]", help: versionHelp}, jsonFlag, runVersion),
	define(command{name: "exit-codes", summary: "list the exit codes and what each means",
		usage: "", help: exitCodesHelp()}, noFlags, runExitCodes),
}

// jsonFlag is the flags function of a command whose one flag is --json.
func jsonFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("json", false, "print JSON for scripts")
}
