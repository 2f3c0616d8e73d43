"""Reports and statistics for observers and the desk: counts from plaintext columns only, every
figure through the small-cell suppression of :mod:`portal.services.reporting.suppression`."""
