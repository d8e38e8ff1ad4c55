# pledge: `make dev` runs the whole system locally, `make test` is what CI runs.
# Both install what they need into .tools/ and infra/sesemu/node_modules/.

SHELL := /bin/bash
.DEFAULT_GOAL := help

GO        ?= go
TOOLS     := $(CURDIR)/.tools
VENV      := $(TOOLS)/venv
RIE       := $(TOOLS)/bin/aws-lambda-rie
SESEMU    := infra/sesemu/node_modules/.bin/aws-ses-v2-local
# axe-core, which the browser test injects into every page and mail.
AXE       := infra/axe/node_modules/axe-core/axe.min.js
# Debian's Chromium for the browser test (a browser download of a test tool's own fails here).
CHROMIUM  := /usr/bin/chromium
# The RIE publishes no tags the module proxy serves: pin the pseudo-version.
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
GOFLAGS_LAMBDA := -tags lambda.norpc -trimpath -ldflags='-s -w'

# No request of ours leaves the machine: no SAM telemetry or update checks.
export SAM_CLI_TELEMETRY := 0
export SAM_CLI_DISABLE_UPDATE_CHECK := 1
export PLEDGE_TOOLS := $(TOOLS)

.PHONY: help tools test-tools dev test generate templ-check lint unit e2e bench bench-abuse bench-sweep bench-notices fuzz screenshots sam-validate sam-build clean sweep publish-policy notice-status notices account privacy-clock fuzz-api

help:
	@echo "make dev    - run pledge locally on emulators and print where to click"
	@echo "make test   - everything CI checks (installs what it needs)"
	@echo "make generate - regenerate the *_templ.go files after changing a .templ file"
	@echo "make sweep  - run the retention sweep on the running dev stack (DRY_RUN=true: change nothing)"
	@echo "make publish-policy VERSION=v2 EFFECTIVE=2027-01-31 [SUMMARY=... MATERIAL=true] - publish a policy version on the dev stack"
	@echo "make notice-status VERSION=v2 - how far its notice has got; make notices - run the sender now"
	@echo "make account EMAIL=a@example.com EVENT=opened|closed [AT=2026-11-25T10:00:00Z] - report an account as the product does"
	@echo "make privacy-clock [NOW=2027-01-08T12:00:00Z] - move privacy requests along on the dev stack (expiry, deletions, reminders)"
	@echo "  (these drive a deployed stack with PLEDGE_FLAGS=\"-stack aws -stack-name pledge-dev\"; go run ./infra/cmd/pledge -h lists every command)"
	@echo "make bench  - binary sizes, cold starts, sign-up throughput, calls per sign-up, abuse limits (make bench-abuse alone)"
	@echo "make bench-sweep, make bench-notices - the retention sweep and the policy-notice fan-out against the emulators"
	@echo "make screenshots - desktop and phone PNGs of every page and mail in .build/screenshots/"
	@echo "make fuzz   - fuzz the body decoder, the token verifier, account events, the address parser, SES events, privacy requests and staff entries (FUZZTIME=30s each)"
	@echo "make fuzz-api - schemathesis against the local stack with api/openapi.yaml, long and stateful (API_EXAMPLES=500)"

# ---- tools, pinned in the repository --------------------------------------

# What the local stack runs on; `make dev` needs nothing more. The browser
# test's Chromium is a prerequisite of `make test` alone (test-tools): `make
# dev` never waits for a browser install.
tools: $(VENV)/.installed $(SESEMU) $(RIE)

test-tools: tools $(CHROMIUM) $(AXE)

$(VENV)/.installed: infra/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements.txt
	touch $@

$(SESEMU): infra/sesemu/package.json infra/sesemu/package-lock.json
	cd infra/sesemu && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(AXE): infra/axe/package.json infra/axe/package-lock.json
	cd infra/axe && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CHROMIUM):
	@sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends chromium

$(RIE):
	GOBIN=$(TOOLS)/bin $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)

# ---- the two commands -------------------------------------------------------

dev: tools
	$(GO) run ./infra/cmd/dev

test: test-tools templ-check lint sam-validate sam-build unit

# Pages and mail bodies are templ components: *.templ compiles to committed
# *_templ.go files with the templ version pinned in go.mod (a Go tool). Run
# from the root: the generated files name their sources relative to it.
generate:
	$(GO) tool templ generate -path .

# Fails when a *_templ.go differs from what its .templ generates, or is
# missing, or outlives its .templ (templ would delete it: a check must not).
templ-check:
	$(GO) tool templ generate -check -keep-orphaned-files -path .
	@for f in $$(git ls-files --cached --others --exclude-standard '*_templ.go'); do \
	  [ -f "$${f%_templ.go}.templ" ] || { echo "$$f: no $${f%_templ.go}.templ; delete it or restore that"; exit 1; }; done

lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

sam-validate: tools
	$(VENV)/bin/sam validate --lint

sam-build: tools
	$(VENV)/bin/sam build --build-in-source

# Unit, emulator-backed store and mail, and end-to-end tests: TestMain in each
# package starts (and stops) the emulators it needs on free loopback ports.
unit: test-tools
	$(GO) test -count=1 ./...

# Desktop and phone screenshots of every page and mail, as the axe-core
# browser test walks them, into .build/screenshots/ for a reviewer.
screenshots: test-tools
	rm -rf .build/screenshots
	PLEDGE_SCREENSHOTS=$(CURDIR)/.build/screenshots $(GO) test -count=1 ./infra/e2e/ -run 'TestEveryPageAndMailPassesAxe$$'
	@ls .build/screenshots

# The operator commands below drive the running `make dev` stack through
# infra/cmd/pledge; PLEDGE_FLAGS points them at a deployed stack instead, e.g.
#   make notice-status VERSION=v2 PLEDGE_FLAGS="-stack aws -stack-name pledge-dev"
# (signed with SigV4 from the standard AWS credential chain). `go run
# ./infra/cmd/pledge -h` lists every command, the privacy-request ones too.
PLEDGE_FLAGS ?=
PLEDGE := $(GO) run ./infra/cmd/pledge $(PLEDGE_FLAGS)

# Run the retention sweep now; DRY_RUN=true reports what it would do and
# changes nothing.
DRY_RUN ?= false
sweep:
	$(PLEDGE) sweep -dry-run=$(DRY_RUN)

# Run the privacy-request clock now, or (dev stack only) as of NOW (RFC 3339,
# e.g. 2027-01-08T12:00:00Z: past a deletion's cool-off).
NOW ?=
export NOW
privacy-clock:
	$(PLEDGE) privacy-clock -now="$$NOW"

# Policy notices, as an operator: publish a version (an AWS_IAM call), watch
# its progress, run the sender now.
VERSION   ?=
EFFECTIVE ?=
SUMMARY   ?= We now keep sign-up records for a shorter time and explain your rights more plainly.
POLICY_URL ?= https://www.smartprotectusa.com/privacy-policy
MATERIAL  ?= true
# Passed through the environment, not pasted into the command line, so that
# any text (quotes included) reaches the tool as written.
export VERSION EFFECTIVE SUMMARY POLICY_URL MATERIAL
publish-policy:
	$(PLEDGE) publish -version="$$VERSION" -effective="$$EFFECTIVE" -summary="$$SUMMARY" -url="$$POLICY_URL" -material="$$MATERIAL"

notice-status:
	$(PLEDGE) status -version="$$VERSION"

notices:
	$(PLEDGE) notices

# Report that an account opened or closed, as the product does (an AWS_IAM
# call); AT defaults to now.
EMAIL ?=
EVENT ?=
AT    ?=
export EMAIL EVENT AT
account:
	$(PLEDGE) account -email="$$EMAIL" -event="$$EVENT" -at="$$AT"

bench: tools
	$(GO) run ./infra/cmd/bench
	$(GO) run ./infra/cmd/bench -only abuse

# Issue 11's figures alone: mailbox floods, the overall ceiling, latency with and without the limits.
bench-abuse: tools
	$(GO) run ./infra/cmd/bench -only abuse

# 1,000 people due in tables of 10,000 and 200,000 (SWEEP_SIZES=1000,10000 for a quick look).
SWEEP_DUE   ?= 1000
SWEEP_SIZES ?= 10000,200000
bench-sweep: tools
	$(GO) run ./infra/cmd/bench -only sweep -sweep-due $(SWEEP_DUE) -sweep-sizes $(SWEEP_SIZES)

bench-notices: tools
	$(GO) run ./infra/cmd/bench -only notices

FUZZTIME ?= 30s
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzDecode -fuzztime=$(FUZZTIME) ./shared/web
	$(GO) test -run='^$$' -fuzz=FuzzVerify -fuzztime=$(FUZZTIME) ./shared/token
	$(GO) test -run='^$$' -fuzz=FuzzAccountEvent -fuzztime=$(FUZZTIME) ./functions/accounts
	$(GO) test -run='^$$' -fuzz=FuzzEmail -fuzztime=$(FUZZTIME) ./shared/people
	$(GO) test -run='^$$' -fuzz=FuzzDecodeEvent -fuzztime=$(FUZZTIME) ./shared/mail
	$(GO) test -run='^$$' -fuzz=FuzzDecodeAsk -fuzztime=$(FUZZTIME) ./functions/privacy
	$(GO) test -run='^$$' -fuzz=FuzzDecodeIntake -fuzztime=$(FUZZTIME) ./functions/requests

# schemathesis (pinned in infra/requirements.txt) against a local stack with
# api/openapi.yaml, as a script and as a browser: `make test` runs it briefly
# (go test ./infra/apifuzz, 25 examples per operation and phase); this runs
# API_EXAMPLES per operation and phase, adds the stateful phase (the spec's
# links: confirm page -> confirm, preferences -> save -> preferences, publish
# -> status) and a fresh seed each run (API_SEED=n repeats one).
API_EXAMPLES ?= 500
API_SEED     ?= 0
fuzz-api: tools
	$(GO) test -count=1 -v -timeout 60m -run Schemathesis ./infra/apifuzz \
		-args -examples=$(API_EXAMPLES) -phases=examples,coverage,fuzzing,stateful -seed=$(API_SEED)

# ---- deploy builds: one static arm64 bootstrap per function (sam build) ----

# `sam build` runs `make build-<LogicalId>` with ARTIFACTS_DIR set; the code of
# <Name>Function is functions/<name> (SignupFunction -> functions/signup,
# MailEventsFunction -> functions/mailevents). BUILD_PACKAGE builds another
# main package the same way (the bench's hello-world). Not .PHONY: make skips
# pattern rules for phony targets.
build-%:
	$(if $(ARTIFACTS_DIR),,$(error build-$*: ARTIFACTS_DIR is not set (sam build sets it)))
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(GOFLAGS_LAMBDA) -o $(ARTIFACTS_DIR)/bootstrap \
		$(or $(BUILD_PACKAGE),./functions/$(shell echo '$(patsubst %Function,%,$*)' | tr '[:upper:]' '[:lower:]'))

clean:
	rm -rf .aws-sam .build
