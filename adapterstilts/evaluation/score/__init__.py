"""`adapterstilts score`: prediction files in the official layout scored exactly as the official
scripts score them (google-research/xtreme ``evaluate.py`` and its ``third_party`` scorers).
``official`` walks the layout and aggregates through the suite; ``readers`` reads the file formats;
``report`` prints the table."""
from adapterstilts.evaluation.score.official import OFFICIAL_LANGUAGES, score_files, score_folder
from adapterstilts.evaluation.score.report import format_files_table, format_folder_table

__all__ = ["OFFICIAL_LANGUAGES", "format_files_table", "format_folder_table", "score_files", "score_folder"]
