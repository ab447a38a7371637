"""The rich generator: articulated people, vehicles, animals, drones and birds; look-alike groups;
cold targets; pan/tilt/zoom; 16-bit raw or 8-bit display video (AGC, gamma, sharpening, JPEG,
burnt-in overlays). ``scene.py`` composes a sequence from the parts in the other modules."""

from fgsgt_ros.data.synth.rich.scene import _generate_rich  # noqa: F401
