package awsfault

import (
	"errors"
	"fmt"

	"github.com/aws/smithy-go"
)

// notSteady refuses an injection whose target already shows the fault, typically a leftover
// of an earlier drill: injecting on top would record a "previous" state that is itself broken
// and the revert would restore the breakage.
func notSteady(target, leftover string) error {
	return fmt.Errorf("%s is not in steady state: %s (left over from an earlier drill?); put it right before drilling", target, leftover)
}

// refused reports whether AWS answered a mutating call with a client error, so the change was
// certainly not applied. Any other failure (timeout, cancel, lost answer, server fault) may
// have been applied, and the revert must stay.
func refused(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorFault() == smithy.FaultClient
}
