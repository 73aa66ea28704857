package dockerengine

import (
	"context"
	"fmt"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
)

// ExecResult is how a command ended.
type ExecResult struct {
	ExitCode int
	// Output is the end of what the command wrote, stdout and stderr merged, at most
	// OutputLimit bytes. The caller redacts it before anyone sees it.
	Output []byte
}

// OutputLimit is how much of a command's output an ExecResult keeps: the end, where the error is.
const OutputLimit = 16 << 10

// StartExec runs a created exec, waits for it to end and returns its exit code and output.
func (c *Client) StartExec(ctx context.Context, execID string) (ExecResult, error) {
	attached, err := c.api.ExecAttach(ctx, execID, client.ExecAttachOptions{})
	if err != nil {
		return ExecResult{}, fmt.Errorf("starting exec %s: %w", execID, err)
	}
	defer attached.Close()
	// The stream ends when the command exits. Without a TTY it is multiplexed.
	var output tailBuffer
	if _, err := stdcopy.StdCopy(&output, &output, attached.Reader); err != nil {
		return ExecResult{}, fmt.Errorf("reading the output of exec %s: %w", execID, err)
	}
	state, err := c.InspectExec(ctx, execID)
	if err != nil {
		return ExecResult{}, err
	}
	return ExecResult{ExitCode: state.ExitCode, Output: output.data}, nil
}

// tailBuffer keeps the last OutputLimit bytes written to it.
type tailBuffer struct{ data []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.data = append(t.data, p...)
	if over := len(t.data) - OutputLimit; over > 0 {
		t.data = append(t.data[:0], t.data[over:]...)
	}
	return len(p), nil
}
