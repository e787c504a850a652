package main

import (
	"flag"
	"os"

	"github.com/ceremony-tuf/ceremony/cmd/ceremony/internal/exitcode"
	"github.com/ceremony-tuf/ceremony/roles"
)

// What the maintainer commands share (PEP 480): a project's delegated
// metadata, and the file that delegates to it.

// projectOptions name a project and the metadata that delegates to it.
type projectOptions struct {
	project, delegator *string
}

func projectFlags(fs *flag.FlagSet) *projectOptions {
	return &projectOptions{
		project:   fs.String("project", "", "the project's role name"),
		delegator: fs.String("delegator", "", "the metadata that delegates to the project (claimed or its bin)"),
	}
}

// readProjectMetadata reads a project's delegated targets metadata.
func readProjectMetadata(path string) (*roles.Metadata[*roles.Targets], error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, exitcode.Mark(exitcode.ErrInput, err)
	}
	m, err := roles.Parse[*roles.Targets](b)
	if err != nil {
		return nil, exitcode.Mark(exitcode.ErrInput, err)
	}
	return m, nil
}

// readProjectFiles reads a project's metadata and its delegator's file.
func readProjectFiles(metadata, delegator string) (*roles.Metadata[*roles.Targets], []byte, error) {
	m, err := readProjectMetadata(metadata)
	if err != nil {
		return nil, nil, err
	}
	del, err := os.ReadFile(delegator)
	if err != nil {
		return nil, nil, exitcode.Mark(exitcode.ErrInput, err)
	}
	return m, del, nil
}
