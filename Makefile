# fgsgt_ros developer entry points. Everything runs from the repo's own venv (.venv).
#   make setup  - create .venv (Python 3.11), install the locked deps (requirements/constraints.txt:
#                 exact pins) + ROS 2 wheels, generate the ROS interfaces into the venv, install
#                 this package (editable). Idempotent; a
#                 second run with nothing changed only checks stamp files (seconds).
#   make test   - setup, then the whole pytest suite
#   make demo   - setup, then the ROS 2 demo (fgsgt_ros.ros.demo)
# Stamps live in .venv/.stamps and depend on the files that feed each step, so editing a
# requirements/*.txt, msg/, srv/ or tools/vision_msgs/ file redoes exactly the affected steps.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Python 3.11 to create .venv with (python3.11, else python3 if that is 3.11).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
VENV_ABS := $(abspath $(VENV))
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
STAMPS := $(VENV)/.stamps
BUILD := build/venv
PYTEST_ARGS ?=

# requirements/<area>.txt hold version ranges (setup.py: core.txt -> install_requires, the others
# -> extras); the venv gets every area installed at the exact versions of the lock
# requirements/constraints.txt. ros-workspace.txt is the ROS-workspace route's pip list (README),
# not installed here.
CONSTRAINTS := requirements/constraints.txt
REQUIREMENTS := $(filter-out $(CONSTRAINTS) requirements/ros-workspace.txt,$(sort $(wildcard requirements/*.txt)))
VISION_MSGS_SRC := tools/vision_msgs/CMakeLists.txt tools/vision_msgs/package.xml $(wildcard tools/vision_msgs/msg/*.msg)
FGSGT_IFACE_SRC := CMakeLists.txt package.xml $(wildcard msg/*.msg) $(wildcard srv/*.srv)

# CMake against the ROS 2 wheels in the venv (see tools/patch_ros_wheels.py for the one snag).
CMAKE_VENV_ARGS := -DCMAKE_PREFIX_PATH=$(VENV_ABS) -DCMAKE_INSTALL_PREFIX=$(VENV_ABS) \
	-DPython3_EXECUTABLE=$(VENV_ABS)/bin/python -DBUILD_TESTING=OFF

.PHONY: help setup test demo clean distclean

help:
	@echo "make demo   set everything up and run the ROS 2 demo"
	@echo "make test   set everything up and run the tests"
	@echo "make setup  only set up .venv (idempotent)"
	@echo "make clean  remove build/ and the setup stamps (next setup regenerates interfaces)"
	@echo "make distclean  also remove .venv"

setup: $(STAMPS)/interfaces

$(PY):
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "need Python 3.11, got " + sys.version' \
		|| { echo "make setup: '$(PYTHON)' is not Python 3.11 (set PYTHON=/path/to/python3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# One resolver run over all requirement files keeps them consistent (e.g. torch==2.13.0 for all).
$(STAMPS)/deps: $(PY) $(REQUIREMENTS) $(CONSTRAINTS)
	@mkdir -p $(STAMPS)
	$(PIP) install -c $(CONSTRAINTS) $(addprefix -r ,$(REQUIREMENTS))
	$(PY) tools/patch_ros_wheels.py $(VENV_ABS)
	@touch $@

$(STAMPS)/vision_msgs: $(STAMPS)/deps $(VISION_MSGS_SRC)
	@mkdir -p $(BUILD)
	cmake -S tools/vision_msgs -B $(BUILD)/vision_msgs $(CMAKE_VENV_ARGS) > $(BUILD)-vision_msgs.log 2>&1 \
		|| { cat $(BUILD)-vision_msgs.log; exit 1; }
	cmake --build $(BUILD)/vision_msgs --target install -j 2 >> $(BUILD)-vision_msgs.log 2>&1 \
		|| { tail -50 $(BUILD)-vision_msgs.log; exit 1; }
	@touch $@

# Editable install in "compat" mode (a .pth with the repo root): the checkout is found by the
# normal path finder, so it wins over the generated interface folder site-packages/fgsgt_ros
# (which has no __init__.py; see CMakeLists.txt and fgsgt_ros/__init__.py).
$(STAMPS)/project: $(STAMPS)/deps setup.py MANIFEST.in
	$(PIP) install --no-deps --no-build-isolation --config-settings editable_mode=compat -e .
	@touch $@

$(STAMPS)/interfaces: $(STAMPS)/vision_msgs $(STAMPS)/project $(FGSGT_IFACE_SRC)
	@mkdir -p $(BUILD)
	cmake -S . -B $(BUILD)/fgsgt_ros -DFGSGT_INTERFACES_ONLY=ON $(CMAKE_VENV_ARGS) > $(BUILD)-fgsgt_ros.log 2>&1 \
		|| { cat $(BUILD)-fgsgt_ros.log; exit 1; }
	cmake --build $(BUILD)/fgsgt_ros --target install -j 2 >> $(BUILD)-fgsgt_ros.log 2>&1 \
		|| { tail -50 $(BUILD)-fgsgt_ros.log; exit 1; }
	cd /tmp && $(VENV_ABS)/bin/python -c 'import rclpy, torch, cv2, fgsgt_ros; \
		from fgsgt_ros.msg import TrackerStatus; from fgsgt_ros.srv import InitTarget; \
		from vision_msgs.msg import Detection2DArray; \
		print("setup ok: rclpy + fgsgt_ros interfaces + vision_msgs + torch", torch.__version__)'
	@touch $@

# Options (no cache dir, skip reasons, per-test timeout, testpaths) live in pytest.ini.
test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

demo: setup
	$(PY) -m fgsgt_ros.ros.demo

clean:
	rm -rf build $(STAMPS)

distclean: clean
	rm -rf $(VENV)
