"""The languages Parley speaks and where their catalogues are, for the web and for e-mail alike.

Kept apart from ``portal.i18n`` (which installs Flask-Babel) so that a service rendering text
outside a request, such as the staff digest, reads the same list without knowing Flask.
"""

from pathlib import Path

DEFAULT_LOCALE = "en"
# A language joins this list when its catalogue lands in portal/translations/.
SUPPORTED_LOCALES = (DEFAULT_LOCALE,)
TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"
