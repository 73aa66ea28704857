// Package metricstest scrapes a Prometheus endpoint in tests and reads the scrape as Prometheus
// does, with the exposition format's own parser (expfmt).
package metricstest

import (
	"fmt"
	"io"
	"net/http"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Scrape is one parsed scrape: the metric families by name.
type Scrape map[string]*dto.MetricFamily

// Get scrapes url with basic auth (none when username is empty) and parses the answer.
func Get(client *http.Client, url, username, password string) (Scrape, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if username != "" {
		req.SetBasicAuth(username, password)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	return Parse(resp.Body)
}

// Parse reads a scrape in the text exposition format.
func Parse(r io.Reader) (Scrape, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(r)
}

// Sum adds up the values of the samples of the metric name whose labels include labels: a
// gauge's or counter's value, a histogram's count. A metric without such samples sums to 0.
func (s Scrape) Sum(name string, labels map[string]string) float64 {
	family := s[name]
	if family == nil {
		return 0
	}
	total := 0.0
	for _, m := range family.GetMetric() {
		if !hasLabels(m, labels) {
			continue
		}
		switch {
		case m.GetGauge() != nil:
			total += m.GetGauge().GetValue()
		case m.GetCounter() != nil:
			total += m.GetCounter().GetValue()
		case m.GetHistogram() != nil:
			total += float64(m.GetHistogram().GetSampleCount())
		case m.GetUntyped() != nil:
			total += m.GetUntyped().GetValue()
		}
	}
	return total
}

// Has reports whether the metric name has a sample whose labels include labels.
func (s Scrape) Has(name string, labels map[string]string) bool {
	family := s[name]
	if family == nil {
		return false
	}
	for _, m := range family.GetMetric() {
		if hasLabels(m, labels) {
			return true
		}
	}
	return false
}

// LabelValues lists every value of every label of every sample, for checks that no secret
// went into one.
func (s Scrape) LabelValues() []string {
	var values []string
	for _, family := range s {
		for _, m := range family.GetMetric() {
			for _, l := range m.GetLabel() {
				values = append(values, l.GetValue())
			}
		}
	}
	return values
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	matched := 0
	for _, l := range m.GetLabel() {
		if v, ok := want[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			matched++
		}
	}
	return matched == len(want)
}
