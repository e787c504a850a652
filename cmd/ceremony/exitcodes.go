package main

import (
	"context"
	"fmt"

	"github.com/ceremony-tuf/ceremony/cmd/ceremony/internal/exitcode"
)

func exitCodesHelp() string {
	return exitcode.Doc() + "\nExample:\n  ceremony exit-codes"
}

// runExitCodes is 'ceremony exit-codes'.
func runExitCodes(ctx context.Context, e *env, _ *struct{}, args []string) error {
	fmt.Fprint(e.stdout, exitcode.Doc())
	return nil
}
