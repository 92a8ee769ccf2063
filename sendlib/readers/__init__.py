"""Readers: one per official file format. Each returns tidy text or numbers and raises
InputFileError naming the file, the column and what was expected."""
