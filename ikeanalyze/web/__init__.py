"""The upload page and API (`ikeanalyze serve`); needs the `serve` extra."""
