package standin

import "slices"

// For returns the recipe whose image is tagged ref ("postgres:17"), if there is one.
func For(ref string) (Recipe, bool) {
	for _, r := range All() {
		if slices.Contains(r.Tags, ref) {
			return r, true
		}
	}
	return Recipe{}, false
}
