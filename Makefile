# bootherd - two commands on a fresh Debian 12 machine:
#   make run    install what is missing (as root), build, init ./var, serve on 127.0.0.1:8080
#   make test   install, build and run the whole suite (last line: N passed, N failed)
BUILD   ?= build
DATA    ?= ./var
HTTP    ?= 127.0.0.1:8080
MESON_OPTS ?= --buildtype=debugoptimized -Dwerror=true

.PHONY: all deps run test clean format lint bench bench-ui

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	meson setup $(BUILD) $(MESON_OPTS)

deps:
	scripts/deps.sh

run: deps all
	@test -f $(DATA)/bootherd.db || $(BUILD)/bootherd init --data $(DATA)
	@echo "bootherd console and API: http://$(HTTP)/   log in with the token in $(DATA)/admin.token"
	@echo "try: $(BUILD)/bootherd --data $(DATA) host ls"
	exec $(BUILD)/bootherd serve --data $(DATA) --http $(HTTP)

test: deps
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
