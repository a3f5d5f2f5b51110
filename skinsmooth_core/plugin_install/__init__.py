"""Installers of the Krita and GIMP plug-ins.

``skinsmooth install-plugin {krita,gimp}`` (:mod:`skinsmooth_core.plugin_install.install`)
copies a plug-in into the host's plug-in folder and makes ``skinsmooth_core`` and
its dependencies importable from the host's embedded Python
(:mod:`skinsmooth_core.plugin_install._deps`). The plug-ins themselves live in the
top-level ``plugins/`` folder (``skinsmooth_core/_data/plugins`` in a wheel).
"""
