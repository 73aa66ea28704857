# Shortcuts to the scripts, for machines that have make: the README's commands are the scripts
# themselves, which a fresh machine runs before it has make (scripts/install-prerequisites installs it).
.PHONY: run test bench lint

run:  ## dockerd under docker-supervisor and the broker; SERVICES="postgresql17 rabbitmq4" picks the offerings
	scripts/run $(SERVICES)

test: ## every test, on real dockerds the tests start themselves (root)
	scripts/test

bench: ## benchmarks that print figures
	scripts/bench

lint: ## gofmt, go vet, staticcheck
	scripts/lint
