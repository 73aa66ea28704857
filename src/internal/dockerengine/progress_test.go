package dockerengine

import (
	"strings"
	"testing"
)

func TestProgressStreamErrorsAreFailures(t *testing.T) {
	var got []Progress
	stream := `{"status":"Pulling fs layer","id":"a1"}
{"status":"Downloading","id":"a1","progressDetail":{"current":1,"total":2}}
{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}
{"status":"never read"}`
	err := readProgress(strings.NewReader(stream), func(p Progress) { got = append(got, p) })
	if err == nil || err.Error() != "manifest unknown" {
		t.Fatalf("error %v, want the stream's own error", err)
	}
	if len(got) != 2 || got[0] != (Progress{ID: "a1", Status: "Pulling fs layer"}) {
		t.Errorf("progress %+v", got)
	}
	if err := readProgress(strings.NewReader(`{"stream":"Loaded image: redis:7\n"}`), nil); err != nil {
		t.Errorf("a clean stream: %v", err)
	}
	if err := readProgress(strings.NewReader(`{"status":`), nil); err == nil {
		t.Error("a truncated stream passed")
	}
}
