"""Features from videos: `amr features extract` (decode with PyAV, encode with CLIP, write a
store). Needs the `video` extra: pip install 'amr[video]'."""

from amr.features.extract import ExtractConfig, extract_features

__all__ = ["ExtractConfig", "extract_features"]
