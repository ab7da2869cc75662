# `make demo` and `make test` both set up .venv from scratch on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The CPU wheel of torch: an unpinned torch would pull a multi-GB CUDA build.
TORCH_PIN ?= torch==2.13.0
DEMO   ?= runs/demo
# `make experiment`: the paper's claim on the qvh synthetic store (real QVHighlights queries).
EXPERIMENT ?= runs/experiment
SEEDS  ?= 1
BUDGET ?= cpu
FRACTIONS ?= 0.1
ARMS ?= baseline,amr
DIMS_cpu  :=
DIMS_full := --video-dim 2816 --text-dim 512
# `make benchmark`: the pre-registered benchmark of docs/benchmark.md (many hours on 2 cores).
BENCH ?= runs/bench
BENCH_MAIN    := --store $(BENCH)/qvh --out $(BENCH)/main --budget cpu --fractions 0.1,0.25,1 --seeds 3 --headline-seeds 5
BENCH_CONTROL := --store $(BENCH)/control --out $(BENCH)/control-world --budget cpu --fractions 0.1 --seeds 5 --arms baseline,amr

# --restore-from FOLDER where that evidence folder exists (a fresh clone has none).
restore = $(if $(wildcard $(1)/experiment.json),--restore-from $(1))

.PHONY: demo test lint format bench bench-gpu bench-gpu-full experiment benchmark benchmark-report clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q "$(TORCH_PIN)"
	$(BIN)/python -m pip install -q -e ".[dev,video]"
	touch $@

demo: $(VENV)/.installed
	$(BIN)/amr datasets synth --out $(DEMO)/store --preset demo --seed 0 --train-videos 400 --val-videos 150 --test-videos 300 --overwrite
	$(BIN)/amr datasets info --store $(DEMO)/store
	$(BIN)/amr augment --store $(DEMO)/store --split train --out $(DEMO)/corpus --seed 0 --overwrite
	$(BIN)/amr inspect --corpus $(DEMO)/corpus
	$(BIN)/amr show --corpus $(DEMO)/corpus --where "sample_id IN (SELECT min(sample_id) FROM corpus GROUP BY kind) ORDER BY sample_id" --out $(DEMO)/samples.png --overwrite
	$(BIN)/amr train baseline --store $(DEMO)/store --split train --out $(DEMO)/baseline --config configs/demo-baseline.json --overwrite
	$(BIN)/amr train cold-start --corpus $(DEMO)/corpus --store $(DEMO)/store --out $(DEMO)/cold-start --config configs/demo.json --overwrite
	$(BIN)/amr train distill --init $(DEMO)/cold-start --corpus $(DEMO)/corpus --store $(DEMO)/store --out $(DEMO)/distill --config configs/demo-distill.json --overwrite
	for run in baseline cold-start distill; do $(BIN)/amr predict --checkpoint $(DEMO)/$$run --store $(DEMO)/store --split test --out $(DEMO)/$$run/test_preds.jsonl || exit 1; done
	$(BIN)/amr eval --store $(DEMO)/store --split test --predictions $(DEMO)/baseline/test_preds.jsonl --predictions $(DEMO)/cold-start/test_preds.jsonl --predictions $(DEMO)/distill/test_preds.jsonl
	$(BIN)/amr show --store $(DEMO)/store --split test --qid 936 --qid 937 --qid 938 --predictions $(DEMO)/baseline/test_preds.jsonl --predictions $(DEMO)/cold-start/test_preds.jsonl --predictions $(DEMO)/distill/test_preds.jsonl --out $(DEMO)/predictions.png --overwrite
	$(BIN)/amr corpus export --corpus $(DEMO)/corpus --store $(DEMO)/store --format moment-detr --out $(DEMO)/export --overwrite

# pytest exits 5 when it collects no test; that is reported, not hidden, by the summary line.
test: $(VENV)/.installed
	$(BIN)/python -m pytest -q; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$rc

lint: $(VENV)/.installed
	$(BIN)/ruff check amr tests benchmarks tools
	$(BIN)/ruff format --check amr tests benchmarks tools

format: $(VENV)/.installed
	$(BIN)/ruff format amr tests benchmarks tools
	$(BIN)/ruff check --fix amr tests benchmarks tools

bench: $(VENV)/.installed
	$(BIN)/python -m benchmarks.run

# On a GPU machine whose python holds a CUDA torch (not .venv's CPU wheel). bench-gpu: each
# training-step option checked against the default, then the step before and after them
# (a few minutes). bench-gpu-full: the `full` budget's per-stage samples/s and peak GPU memory
# at real dims (docs/results/gpu-full.md; several GB).
bench-gpu:
	$(PYTHON) -m benchmarks.gpu_step --json runs/gpu-step.json

bench-gpu-full:
	$(PYTHON) -m benchmarks.gpu_full --out runs/gpu-full --json runs/gpu-full/result.json

# BUDGET=cpu: the 10 % fraction's baseline + amr in about 9 minutes a seed on 2 CPU cores
# (128/64-d); BUDGET=full: real dims, for a GPU. Rerunning continues where it stopped.
experiment: $(VENV)/.installed
	test -f $(EXPERIMENT)-$(BUDGET)-store/store.json || $(BIN)/amr datasets synth --out $(EXPERIMENT)-$(BUDGET)-store --preset qvh --seed 0 $(DIMS_$(BUDGET))
	$(BIN)/amr experiment --store $(EXPERIMENT)-$(BUDGET)-store --out $(EXPERIMENT)-$(BUDGET) --fractions $(FRACTIONS) --seeds $(SEEDS) --budget $(BUDGET) --arms $(ARMS)

# The commands of docs/benchmark.md, section 5; rerunning continues where it stopped, and
# runs published in docs/results/ (their evidence) are read back instead of retrained.
benchmark: $(VENV)/.installed
	test -f $(BENCH)/qvh/store.json || $(BIN)/amr datasets synth --out $(BENCH)/qvh --preset qvh --seed 0
	test -f $(BENCH)/control/store.json || $(BIN)/amr datasets synth --out $(BENCH)/control --preset control --seed 0 --train-videos 7200 --val-videos 800 --test-videos 800
	$(BIN)/amr experiment $(BENCH_MAIN) $(call restore,docs/results/evidence)
	$(BIN)/amr experiment $(BENCH_CONTROL) $(call restore,docs/results/control-world/evidence)

# The report of whatever has finished (the benchmark may still be running), copied to
# docs/results/ (main store) and docs/results/control-world/ (once that experiment has started).
# On a fresh clone it remakes the synthetic stores (deterministic: the same fingerprints) and
# rebuilds the published report from the committed evidence, training nothing.
benchmark-report: $(VENV)/.installed
	test -f $(BENCH)/qvh/store.json || $(BIN)/amr datasets synth --out $(BENCH)/qvh --preset qvh --seed 0 --quiet
	$(BIN)/amr experiment $(BENCH_MAIN) --report-only --quiet $(call restore,docs/results/evidence)
	mkdir -p docs/results
	cp $(BENCH)/main/results.md $(BENCH)/main/results.json $(BENCH)/main/*.png docs/results/
	cp -r $(BENCH)/main/evidence docs/results/
	if [ -f $(BENCH)/control-world/experiment.json ] || [ -f docs/results/control-world/evidence/experiment.json ]; then \
	  { test -f $(BENCH)/control/store.json || $(BIN)/amr datasets synth --out $(BENCH)/control --preset control --seed 0 --train-videos 7200 --val-videos 800 --test-videos 800 --quiet; } && \
	  $(BIN)/amr experiment $(BENCH_CONTROL) --report-only --quiet $(call restore,docs/results/control-world/evidence) && \
	  mkdir -p docs/results/control-world && \
	  cp $(BENCH)/control-world/results.md $(BENCH)/control-world/results.json $(BENCH)/control-world/*.png docs/results/control-world/ && \
	  cp -r $(BENCH)/control-world/evidence docs/results/control-world/; \
	fi

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
