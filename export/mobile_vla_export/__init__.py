"""Mobile-VLA checkpoint -> verified model folder for the mobile_vla_ros package."""

__version__ = "0.1.0"
