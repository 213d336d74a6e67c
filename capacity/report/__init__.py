"""Reports: results rendered for people (Rich tables, Markdown) and machines (JSON, frames).

Each module renders one kind of result; heavy libraries (pandas, matplotlib) are imported
inside the functions that need them, never when this package is imported.
"""
