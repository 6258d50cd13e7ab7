# bootherd - two commands on a fresh Debian 12 machine:
#   make run    install what running needs (as root; scripts/deps.sh run), build,
#               init ./var, serve on 127.0.0.1:8080
#   make test   install that and the test peers (scripts/deps.sh test), build and
#               run the whole suite (last line: N passed, N failed)
BUILD   ?= build
DATA    ?= ./var
HTTP    ?= 127.0.0.1:8080
MESON_OPTS ?= --buildtype=debugoptimized -Dwerror=true

.PHONY: all deps deps-run deps-test run test clean format lint bench bench-ui

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

deps: deps-test

deps-run:
	scripts/deps.sh run

deps-test:
	scripts/deps.sh test

# without the test packages: no unit tests (cmocka) in the build
run: deps-run
	@test -f $(BUILD)/build.ninja || meson setup $(BUILD) $(MESON_OPTS) -Dtests=false
	ninja -C $(BUILD)
	@test -f $(DATA)/bootherd.db || $(BUILD)/bootherd init --data $(DATA)
	@echo "bootherd console and API: http://$(HTTP)/   log in with the token in $(DATA)/admin.token"
	@echo "try: $(BUILD)/bootherd --data $(DATA) host ls"
	exec $(BUILD)/bootherd serve --data $(DATA) --http $(HTTP)

# a build dir that `make run` set up without unit tests gets them back
test: deps-test
	@test ! -f $(BUILD)/build.ninja || meson configure $(BUILD) -Dtests=true
	tests/run-all.sh

format:
	clang-format -i $$(git ls-files --cached --others --exclude-standard 'src/*.c' 'src/*.h' 'tests/unit/*.c' 'fuzz/*.c')

lint:
	scripts/check-banned.sh && scripts/check-format.sh

bench: all
	bench/api.sh

# the web console's figures (headless Chromium; issue 10)
bench-ui: all
	bench/ui.sh

clean:
	rm -rf build build-asan build-fuzz
