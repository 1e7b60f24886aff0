"""Seeds matplotlib's cache directory from the copy made when the image was built.

Every run starts with an empty /tmp, so without this matplotlib would scan the
fonts and write fontlist-*.json into MPLCONFIGDIR on every import (~250 ms).
Imported at interpreter start by seed_mpl_cache.pth; does nothing when
MPLCONFIGDIR is unset or already exists, and never fails the program.
"""
import os

_SOURCE = "/usr/local/share/mcp-sandbox/matplotlib"


def _seed():
    target = os.environ.get("MPLCONFIGDIR")
    if not target or os.path.exists(target) or not os.path.isdir(_SOURCE):
        return
    try:
        os.makedirs(target)
        for name in os.listdir(_SOURCE):
            with open(os.path.join(_SOURCE, name), "rb") as src:
                data = src.read()
            with open(os.path.join(target, name), "wb") as dst:
                dst.write(data)
    except OSError:
        pass  # matplotlib rebuilds the cache itself, only slower


_seed()
