"""The model families' assemblies, one module each: the family's config dataclass(es), its named
presets and its network, built from the shared blocks (``backbones/``, ``necks.py``, ``heads.py``,
``fgpcb.py``, ``rrspn.py``; losses in ``losses.py``). ``fgsgt`` is FGSGT and its SiamRPN++
baseline (one network), ``siamffn``, ``ibfp`` and ``mmnet`` the other papers' trackers.
``fgsgt_ros.model.registry.FAMILIES`` is the table that names them.
"""
