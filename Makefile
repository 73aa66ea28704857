# The two commands of the README, and the checks CI runs.
.PHONY: run test bench lint

run:  ## dockerd under docker-supervisor, with the stand-in service images preloaded
	scripts/run

test: ## every test, on a real dockerd the tests start themselves (root)
	scripts/test

bench: ## benchmarks that print figures
	scripts/bench

lint: ## gofmt, go vet, staticcheck
	scripts/lint
