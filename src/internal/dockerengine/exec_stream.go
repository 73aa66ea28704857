package dockerengine

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// StreamExec runs a created exec as StartExec does, with its standard streams connected: what
// stdin holds (nil: nothing) is its standard input, which is closed at the end of stdin (the
// exec must have been created with Stdin for that), and its standard output goes to stdout as
// it comes, however large. Only its standard error goes into the result's Output.
func (c *Client) StreamExec(ctx context.Context, execID string, stdin io.Reader, stdout io.Writer) (ExecResult, error) {
	attached, err := c.api.ExecAttach(ctx, execID, client.ExecAttachOptions{})
	if err != nil {
		return ExecResult{}, fmt.Errorf("starting exec %s: %w", execID, err)
	}
	defer attached.Close()
	// The connection is closed when ctx ends, which ends both copies below.
	stop := context.AfterFunc(ctx, func() { attached.Close() })
	defer stop()
	fed := make(chan error, 1)
	go func() {
		var err error
		if stdin != nil {
			_, err = io.Copy(attached.Conn, stdin)
		}
		if closeErr := attached.CloseWrite(); err == nil {
			err = closeErr
		}
		fed <- err
	}()
	var stderr tailBuffer
	_, copyErr := stdcopy.StdCopy(stdout, &stderr, attached.Reader)
	if copyErr != nil {
		attached.Close() // the feeding goroutine may be blocked on a command that stopped reading
	}
	feedErr := <-fed
	if err := errors.Join(ctx.Err(), copyErr); err != nil {
		return ExecResult{}, fmt.Errorf("streaming exec %s: %w", execID, err)
	}
	state, err := c.InspectExec(ctx, execID)
	if err != nil {
		return ExecResult{}, err
	}
	if feedErr != nil && state.ExitCode == 0 {
		// The command ended well without reading all its input.
		return ExecResult{}, fmt.Errorf("feeding exec %s: %w", execID, feedErr)
	}
	return ExecResult{ExitCode: state.ExitCode, Output: stderr.data}, nil
}
