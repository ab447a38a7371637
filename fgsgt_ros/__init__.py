"""fgsgt_ros: thermal-infrared single-object tracking with the FGSGT Siamese network.

Layout (the architecture):
- ``fgsgt_ros.model``      pure PyTorch network code (no ROS imports)
- ``fgsgt_ros.tracker``    tracker logic and thermal preprocessing (no ROS imports)
- ``fgsgt_ros.data``       sequence readers, synthetic thermal generator, training samples
- ``fgsgt_ros.training``   the trainer (single process, or torchrun/DDP)
- ``fgsgt_ros.evaluation`` OPE / VOT metrics, evaluation runner, plots
- ``fgsgt_ros.ros``        the thin ROS 2 adapter (node, player, demo); the only part importing rclpy
"""

__version__ = "0.1.0"
