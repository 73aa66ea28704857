package broker

import (
	"context"
	"errors"
	"fmt"

	"github.com/cloudfoundry-community/docker-broker/src/internal/dockerengine"
	"github.com/cloudfoundry-community/docker-broker/src/internal/store"
)

// userError is a failure told the way the platform's user should read it — what happened and
// what to do — apart from its detail (engine messages, host paths), which only the operator's
// log gets, as ODB's displayable errors do.
type userError struct {
	message string
	detail  error // for the log; nil when the message says it all
}

func (e *userError) Error() string {
	if e.detail == nil {
		return e.message
	}
	return e.message + " (" + e.detail.Error() + ")"
}

func (e *userError) Unwrap() error { return e.detail }

// forUser gives err a message for the platform's user.
func forUser(detail error, format string, args ...any) error {
	return &userError{message: fmt.Sprintf(format, args...), detail: detail}
}

// describe is the description the platform's user reads in last_operation for an operation
// that failed with err: the error's own message for them where it has one, else what failed
// and where the operator finds out why.
func describe(ctx context.Context, op store.Operation, err error) string {
	if errors.Is(context.Cause(ctx), errSyncTimeout) {
		return errSyncTimeout.Error()
	}
	fallback := fmt.Sprintf("%s failed in the service host's container engine; the operator finds the details in the broker's log under operation %s", op.Kind, op.ID)
	switch {
	case errors.Is(err, dockerengine.ErrNodeDown):
		fallback = nodeDown + "; try again when it is back, and ask the operator if it stays down"
	case dockerengine.IsUnavailable(err):
		fallback = "the broker could not reach its container engine; try again in a few minutes, and ask the operator if it persists"
	}
	return userMessage(err, fallback)
}

// nodeDown tells the platform's user that the instance's machine of several is down
// (dockerengine.ErrNodeDown).
const nodeDown = "the docker VM that holds the instance is down: the instance runs again, with its data, when the VM is back"

// userMessage is err's message for the platform's user, or fallback when it has none.
func userMessage(err error, fallback string) string {
	if ue, ok := errors.AsType[*userError](err); ok {
		return ue.message
	}
	return fallback
}
