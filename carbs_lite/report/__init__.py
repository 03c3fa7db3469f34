"""Reports: plotly pages built as info functions -> figure functions -> one self-contained page."""
