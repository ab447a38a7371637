"""Pure PyTorch network code (no ROS, no tracker or data imports).

- ``registry``: the model layer's table of families (``FAMILIES``: config, network, loss, ONNX
  outputs, presets) and ``get_preset`` / ``build_model`` / ``family_of``;
- ``families/``: each family's assembly (configs, presets, network): ``fgsgt`` (FGSGT and
  SiamRPN++), ``siamffn``, ``ibfp``, ``mmnet``;
- shared blocks: ``backbones/`` (ResNet, ResNet-18, AlexNet, MobileNetV3, EfficientNet-Lite),
  ``necks``, ``heads``, ``fgpcb``, ``rrspn``, ``siamese_base``, ``losses``, and the output geometry
  ``anchors`` / ``points``; ``config``: the block configs;
- ``checkpoint``, ``export`` (ONNX), ``runtime`` (torch / onnxruntime), ``profile`` (params,
  GFLOPs).
"""
