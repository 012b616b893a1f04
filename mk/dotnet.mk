# The .NET binding (bindings/dotnet), built with mcs and tested on Mono against the
# emulator. Outputs in $(BUILD)/dotnet: TeamsOp.dll (+ .xml docs, + .dll.config
# dllmap), TeamsOpTests.exe, TeamsOpGet.exe.

MCS          ?= mcs
MONO         ?= mono
DOTNET_SRC   := bindings/dotnet
DOTNET_OUT   := $(BUILD)/dotnet
MCSFLAGS     := -nologo -debug -warnaserror+ -warn:4
# The native library for Mono's DllImport("teamsop"): libteamsop.so (tests) and
# libteamsop.so.0 (through TeamsOp.dll.config, for the example), both in $(TARGET).
DOTNET_RUN   := env LD_LIBRARY_PATH=$(abspath $(TARGET))$${LD_LIBRARY_PATH:+:$$LD_LIBRARY_PATH} $(MONO) --debug

.PHONY: dotnet dotnet-test

dotnet: $(DOTNET_OUT)/TeamsOp.dll $(DOTNET_OUT)/TeamsOpTests.exe $(DOTNET_OUT)/TeamsOpGet.exe

$(DOTNET_OUT):
	mkdir -p $@

# -doc with -warnaserror: a public member without an XML doc comment fails the build.
$(DOTNET_OUT)/TeamsOp.dll: $(DOTNET_SRC)/TeamsOp.cs $(DOTNET_SRC)/TeamsOp.dll.config | $(DOTNET_OUT)
	$(MCS) $(MCSFLAGS) -target:library -doc:$(DOTNET_OUT)/TeamsOp.xml -out:$@ $(DOTNET_SRC)/TeamsOp.cs
	cp $(DOTNET_SRC)/TeamsOp.dll.config $@.config

# The tests are compiled together with the binding's source (one assembly).
$(DOTNET_OUT)/TeamsOpTests.exe: $(DOTNET_SRC)/tests/TeamsOpTests.cs $(DOTNET_SRC)/TeamsOp.cs | $(DOTNET_OUT)
	$(MCS) $(MCSFLAGS) -target:exe -r:System.dll -r:System.Core.dll -out:$@ $^

# The example references TeamsOp.dll, as a user's program would.
$(DOTNET_OUT)/TeamsOpGet.exe: $(DOTNET_SRC)/examples/TeamsOpGet.cs $(DOTNET_OUT)/TeamsOp.dll
	$(MCS) $(MCSFLAGS) -target:exe -r:$(DOTNET_OUT)/TeamsOp.dll -out:$@ $<

# The test runner, then the example once: a wait on a scripted Location that goes
# notStarted -> inProgress -> succeeded (the seed's body), checking its output;
# then how the binding finds the library (tests/loading.sh): next to the
# application without LD_LIBRARY_PATH, and the one-line error when it is nowhere.
dotnet-test: build $(DOTNET_OUT)/TeamsOpTests.exe $(DOTNET_OUT)/TeamsOpGet.exe
	scripts/with-emulator.sh --scenarios $(DOTNET_SRC)/tests/scenarios.json -- \
	  $(DOTNET_RUN) $(DOTNET_OUT)/TeamsOpTests.exe
	scripts/with-emulator.sh --scenarios $(DOTNET_SRC)/tests/scenarios.json -- \
	  $(DOTNET_RUN) $(DOTNET_OUT)/TeamsOpGet.exe --location "/chats('dotnet-example')/operations('progress')" \
	  --wait 10 --poll-ms 50 >$(DOTNET_OUT)/example.stdout 2>$(DOTNET_OUT)/example.stderr || \
	  { echo "dotnet-test: TeamsOpGet.exe failed" >&2; cat $(DOTNET_OUT)/example.stdout $(DOTNET_OUT)/example.stderr >&2; exit 1; }
	@set -e; out=$(DOTNET_OUT)/example.stdout; err=$(DOTNET_OUT)/example.stderr; \
	check() { grep -Fxq -- "$$2" "$$1" || { echo "dotnet-test: TeamsOpGet.exe: no line '$$2' in $$1" >&2; \
	  sed 's/^/  | /' "$$out" "$$err" >&2; exit 1; }; }; \
	check $$out 'id                       2432b57b-0abd-43db-aa7b-16eadd115d34-e88ae9aa-887e-4972-ac3e-bd578e38232e-cf58835e-43f0-4fc1-825e-5de55630e7e4'; \
	check $$out 'status                   succeeded'; \
	check $$out 'operationType            createChat'; \
	check $$out 'createdDateTime          2021-05-27T21:23:41.9085453Z (unix ms 1622150621908)'; \
	check $$out 'lastActionDateTime       2021-05-27T21:23:45.1899277Z (unix ms 1622150625189)'; \
	check $$out 'attemptsCount            1'; \
	check $$out "targetResourceLocation   /chats('19:c253a29b5f694b55a6baad8e83510af7@thread.v2')"; \
	check $$out 'values                   {"appIds":["1542629c-01b3-4a6d-8f76-1938b779e48d"]}'; \
	check $$out 'error                    -'; \
	test "$$(wc -l <$$out)" -eq 10 || { echo "dotnet-test: TeamsOpGet.exe printed $$(wc -l <$$out) lines, expected 10" >&2; exit 1; }; \
	grep -Eq '^\[ *[0-9.]+s\] poll 1: status=notStarted attempts=0$$' $$err && \
	grep -Eq '^\[ *[0-9.]+s\] poll 2: status=inProgress attempts=1$$' $$err && \
	grep -Eq '^\[ *[0-9.]+s\] poll 3: status=succeeded attempts=1$$' $$err && \
	grep -Eq '^\[ *[0-9.]+s\] done after 3 poll\(s\): succeeded$$' $$err || \
	  { echo "dotnet-test: TeamsOpGet.exe progress lines" >&2; sed 's/^/  | /' $$err >&2; exit 1; }; \
	test "$$(wc -l <$$err)" -eq 4 || { echo "dotnet-test: TeamsOpGet.exe wrote $$(wc -l <$$err) lines to stderr, expected 4" >&2; exit 1; }; \
	echo "dotnet-test: TeamsOpGet.exe example output checked"
	MONO="$(MONO)" $(DOTNET_SRC)/tests/loading.sh $(DOTNET_OUT) $(LIB_SO)

TEST_TARGETS += dotnet-test
