"""The ``fgsgt_tracker`` node's ROS parameters (``ParametersMixin``, a part of ``TrackerNode``):
declaring them from their specs (``fgsgt_ros.ros.params``) with descriptors that say when a change
takes effect, refusing a change the node's lifecycle state does not allow, and applying tracker,
AGC and click settings at once (the session's ``retune``)."""

from __future__ import annotations

import os

from rcl_interfaces.msg import (FloatingPointRange, IntegerRange, ParameterDescriptor,
                                SetParametersResult)
from rclpy.parameter import Parameter

from fgsgt_ros.ros import params as P

#: Groups of parameters declared at configure, from their dataclasses.
MODEL_GROUPS = ("tracker", "thermal", "click")


class ConfigError(ValueError):
    """A parameter value the node cannot start with."""


_WHEN = {"activate": "Takes effect at the next activation (set it while the node is inactive).",
         "configure": "Takes effect at the next configure (set it while the node is unconfigured).",
         "start": "Fixed at start-up."}


def _descriptor(spec: P.ParamSpec) -> ParameterDescriptor:
    desc = spec.description
    if spec.choices:
        desc += f" One of: {', '.join(spec.choices)}."
    if spec.applies in _WHEN:
        desc += " " + _WHEN[spec.applies]
    d = ParameterDescriptor(description=desc, read_only=spec.read_only)
    if spec.choices:
        d.additional_constraints = "one of: " + ", ".join(spec.choices)
    if spec.range and isinstance(spec.default, float):
        d.floating_point_range = [FloatingPointRange(
            from_value=float(spec.range[0]), to_value=float(spec.range[1]),
            step=float(spec.range[2]) if len(spec.range) > 2 else 0.0)]
    elif spec.range and isinstance(spec.default, int) and not isinstance(spec.default, bool):
        d.integer_range = [IntegerRange(
            from_value=int(spec.range[0]), to_value=int(spec.range[1]),
            step=int(spec.range[2]) if len(spec.range) > 2 else 1)]
    return d


class ParametersMixin:
    """``TrackerNode``'s parameter declaration and set-parameters callback."""

    def _declare_parameters(self, *groups: str) -> dict:
        values = {g: {} for g in ("node",) + MODEL_GROUPS}
        self._declaring = True
        try:
            for spec in self._specs.values():
                if spec.group not in groups:
                    continue
                value = self._declare_one(spec)
                reason = P.check_choice(spec, value)
                if reason:
                    raise ConfigError(reason)
                values[spec.group][spec.field_name] = value
        finally:
            self._declaring = False
        return values

    def _declare_one(self, spec: P.ParamSpec):
        if not self.has_parameter(spec.name):
            try:
                value = self.declare_parameter(spec.name, spec.default, _descriptor(spec)).value
            except Exception as exc:  # wrong type / outside range in the params file
                raise ConfigError(f"parameter {spec.name}: {exc}") from None
            self._declared_defaults[spec.name] = spec.default
            return value
        # Configured again (after cleanup, maybe with another checkpoint): a value still at the
        # previous model's calibrated default follows the new model's; a value set by the user
        # stays.
        value = self.get_parameter(spec.name).value
        old_default = self._declared_defaults.get(spec.name)
        if spec.calibrated and value == old_default and spec.default != old_default:
            self.set_parameters([Parameter(spec.name, value=spec.default)])
            value = spec.default
        self._declared_defaults[spec.name] = spec.default
        return value

    def _refuse(self, reason: str) -> SetParametersResult:
        return SetParametersResult(successful=False, reason=reason)

    def _on_set_parameters(self, params) -> SetParametersResult:
        if self._declaring:
            return SetParametersResult(successful=True)  # checked by _declare_parameters
        fqn = self.get_fully_qualified_name()
        changes = []
        for p in params:
            spec = self._specs.get(p.name)
            if spec is None:
                continue  # ROS' own (use_sim_time, ...)
            reason = P.check_choice(spec, p.value)
            if reason:
                return self._refuse(reason)
            if spec.applies == "activate" and self._lifecycle == "active":
                return self._refuse(
                    f"{p.name} is used when the node activates: deactivate it first "
                    f"(ros2 lifecycle set {fqn} deactivate), set it, then activate")
            if spec.applies == "configure" and self._lifecycle not in ("unconfigured",):
                return self._refuse(
                    f"{p.name} needs the model reloaded: deactivate and clean up the node first "
                    f"(ros2 lifecycle set {fqn} deactivate, then cleanup), set it, then "
                    f"configure and activate")
            changes.append((spec, p.value))
        # tracker/thermal/click settings: the dataclasses validate the combination
        new = {}
        current = {"tracker": self.tracker_cfg, "thermal": self.thermal_cfg,
                   "click": self.click_cfg}
        classes = {"tracker": P.tracker_config_class(), "thermal": P.thermal_config_class(),
                   "click": P.click_config_class()}
        for group in MODEL_GROUPS:
            updates = {s.field_name: v for s, v in changes if s.group == group}
            if not updates:
                continue
            base = current[group] if current[group] is not None else classes[group]()
            values = {f: getattr(base, f) for f in base.__dataclass_fields__}
            values.update(updates)
            try:
                new[group] = P.build_dataclass(classes[group], values)
            except (TypeError, ValueError) as exc:
                return self._refuse(f"{', '.join(group + '.' + k for k in updates)}: {exc}")
        for spec, value in changes:
            if spec.group == "node":
                setattr(self.cfg, spec.field_name, value)
        self._apply_node_changes({s.field_name for s, _ in changes if s.group == "node"})
        self._apply_model_changes(new)
        return SetParametersResult(successful=True)

    def _apply_node_changes(self, names) -> None:
        if "num_threads" in names and self.session is not None:
            import torch

            torch.set_num_threads(int(self.cfg.num_threads) or (os.cpu_count() or 1))
        if "diagnostics_period_s" in names and self._diag_timer is not None:
            self.destroy_timer(self._diag_timer)
            self._diag_timer = self.create_timer(
                self.cfg.diagnostics_period_s, self._guard("diagnostics",
                                                           self._publish_diagnostics))
        if "click_topic" in names and self._lifecycle == "active":
            self._subscribe_clicks()

    def _apply_model_changes(self, new: dict) -> None:
        if "click" in new:
            self.click_cfg = new["click"]
        if "tracker" in new or "thermal" in new:
            self.tracker_cfg = new.get("tracker", self.tracker_cfg)
            self.thermal_cfg = new.get("thermal", self.thermal_cfg)
            if self.session is not None:
                kept = self.session.retune(tracker_cfg=new.get("tracker"),
                                           thermal_cfg=new.get("thermal"))
                if not kept:
                    self.get_logger().warning(
                        f"{self.session.model_name} takes no new settings while tracking: "
                        "rebuilt with them, target forgotten (IDLE)")

