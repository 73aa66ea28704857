package dockerengine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/moby/moby/api/types/jsonstream"
)

// Progress is one step reported by a long engine operation (image load or pull):
// a layer id and what happens to it ("Downloading", "Pull complete", "Loaded image: ...").
type Progress struct {
	ID     string
	Status string
}

// readProgress drains the JSON message stream that image load and pull answer with.
// The engine reports failures inside the stream with a 200 status, so the stream must be
// read to the end to know whether the operation worked.
func readProgress(body io.Reader, report func(Progress)) error {
	dec := json.NewDecoder(body)
	for {
		var msg jsonstream.Message
		if err := dec.Decode(&msg); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("reading engine progress: %w", err)
		}
		if msg.Error != nil {
			return errors.New(msg.Error.Message)
		}
		status := strings.TrimSpace(msg.Status + msg.Stream)
		if report != nil && status != "" {
			report(Progress{ID: msg.ID, Status: status})
		}
	}
}
