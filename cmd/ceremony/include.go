package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ceremony-tuf/ceremony/ceremony"
	"github.com/ceremony-tuf/ceremony/cmd/ceremony/internal/exitcode"
	"github.com/ceremony-tuf/ceremony/internal/boundedfile"
	"github.com/ceremony-tuf/ceremony/roles"
)

const includeHelp = `Brings projects' metadata, as their maintainers signed it ('ceremony
maintainer sign'), into the ceremony, to be published beside claimed and
listed in the new snapshot. A project this ceremony moves into claimed, or
whose keys it changes, needs it: without it the repository would not
verify, and publish refuses.

Each FILE is named as maintainers publish it, VERSION.PROJECT.json (or
PROJECT.json); the name says which project it is, and its VERSION must be
the version inside. Every file is checked against the delegation this
ceremony leaves the project (claimed, or claimed's bin, as staged):
signed by a threshold of the project's keys, a version above any the
repository holds for it, not expired at the plan's reference time. One
file refused records none of them. Each is shown as it is taken in: its
version, who signed it under which threshold, its targets and expiry.

Project metadata maintainers published between ceremonies, newer than the
trusted snapshot lists, needs no include: start finds it in the trusted
folder, and the new snapshot lists it.

Exit status 3 means a file cannot be read, is not targets metadata, or
names a project claimed does not delegate to (or a version other than the
one inside); 4 that it is not signed by a threshold of the project's keys,
is expired, or is not newer than the repository's; 6 that the project is
included already or the workspace is in use; 8 that the ceremony is
publishing, closed or aborted.

Examples:
  ceremony include --workspace ws-2026-q4 /media/usb/1.sampleproject.json /media/usb/1.requests.json
  ceremony include --workspace ws-2026-q4 --json /media/usb/projects/*.json`

type includeOptions struct {
	workspace *string
	json      *bool
}

func includeFlags(fs *flag.FlagSet) *includeOptions {
	return &includeOptions{
		workspace: workspaceFlags(fs),
		json:      fs.Bool("json", false, "print what was included, and whether the ceremony can publish, as JSON"),
	}
}

// includeJSON is the --json form of 'ceremony include'.
type includeJSON struct {
	Included       []includedJSON `json:"included"`
	ReadyToPublish bool           `json:"ready_to_publish"`
}

type includedJSON struct {
	File      string   `json:"file"`
	Role      string   `json:"role"`
	Version   int64    `json:"version"`
	Expires   string   `json:"expires"`
	Targets   int      `json:"targets"`
	Threshold int64    `json:"threshold"`
	SignedBy  []string `json:"signed_by"` // keyids
	Summary   []string `json:"summary"`
}

// runInclude is 'ceremony include FILE...'.
func runInclude(ctx context.Context, e *env, o *includeOptions, args []string) error {
	if len(args) == 0 {
		return usageErrorf("name the projects' metadata files to include, e.g. ceremony include /media/usb/1.sampleproject.json")
	}
	// Read and name every file before the workspace is touched.
	in := make([]ceremony.Included, len(args))
	versions := make([]int64, len(args))
	for i, path := range args {
		b, err := boundedfile.Read(path, e.limit(boundedfile.Metadata))
		if err != nil {
			return fmt.Errorf("read project metadata: %w", err)
		}
		m, err := roles.Parse[*roles.Targets](b)
		if err != nil {
			return fmt.Errorf("%s: %w", safe(path), err)
		}
		role, v, err := includedName(path)
		if err != nil {
			return err
		}
		if v != 0 && v != m.Signed.Version {
			return exitcode.Errorf(exitcode.ErrInput, "%s: the file's name says version %d, the metadata in it is version %d: name it %d.%s.json, as it is published", safe(path), v, m.Signed.Version, m.Signed.Version, safe(role))
		}
		in[i], versions[i] = ceremony.Included{Role: role, Metadata: b}, m.Signed.Version
	}
	eng, err := openWorkspace(*o.workspace)
	if err != nil {
		return err
	}
	defer eng.Release()
	if err := eng.IncludeAll(in); err != nil {
		return err
	}
	st := eng.State()
	rep := includeJSON{Included: []includedJSON{}, ReadyToPublish: eng.ReadyToPublish() == nil}
	for i, f := range in {
		r := st.Role(f.Role)
		m, err := roles.Parse[*roles.Targets](r.Metadata)
		if err != nil {
			return err
		}
		j := includedJSON{File: args[i], Role: f.Role, Version: versions[i], Expires: m.Signed.Expires.Format(roles.TimeFormat),
			Targets: len(m.Signed.Targets), SignedBy: []string{}, Summary: r.Summary}
		if len(r.Required) > 0 {
			j.Threshold = r.Required[0].Threshold
			if vr, _ := roles.Verify(m, r.Required[0]); vr != nil {
				j.SignedBy = append(j.SignedBy, vr.Signed...)
			}
		}
		rep.Included = append(rep.Included, j)
	}
	if *o.json {
		return writeJSON(e.stdout, rep)
	}
	for _, j := range rep.Included {
		fmt.Fprintf(e.stdout, "included %s v%d from %s:\n", safe(j.Role), j.Version, safe(j.File))
		printSummary(e.stdout, "  ", j.Summary)
	}
	fmt.Fprintf(e.stdout, "\nPublishing writes them beside claimed, and the new snapshot lists them.\n")
	if rep.ReadyToPublish {
		fmt.Fprintln(e.stdout, "Every threshold is reached: the ceremony can publish.")
	}
	return nil
}

// includedName is the project a metadata file is named for, and the
// version its name says (0 when it says none): "sampleproject" and 4 for
// 4.sampleproject.json.
func includedName(path string) (string, int64, error) {
	base := filepath.Base(path)
	name, ok := strings.CutSuffix(base, ".json")
	if !ok || name == "" {
		return "", 0, exitcode.Errorf(exitcode.ErrInput, "%s: name a project's metadata file VERSION.PROJECT.json (or PROJECT.json), as maintainers publish it, so that it says which project it is", safe(path))
	}
	if vs, rest, ok := strings.Cut(name, "."); ok && vs != "" && strings.Trim(vs, "0123456789") == "" {
		v, err := strconv.ParseInt(vs, 10, 64)
		if err != nil || v < 1 || rest == "" {
			return "", 0, exitcode.Errorf(exitcode.ErrInput, "%s: %q is not a version: name the file VERSION.PROJECT.json", safe(path), safe(vs))
		}
		return rest, v, nil
	}
	return name, 0, nil
}
