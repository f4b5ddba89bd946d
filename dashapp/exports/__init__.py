"""Exports of desk data (orders, fills, positions, risk, TCA) as CSV, Excel, PDF, JSON or Parquet.

    params.py    what can be asked for (pydantic) and which filters apply to which dataset
    datasets.py  the data, read in keyset chunks so a million rows never sit in memory
    tables.py    Column / Table / ExportData: what a writer consumes
    writers/     one module per format, each writing chunk by chunk
    service.py   launch, write (file + SHA-256), audit, and the download lookup

No Dash and no Celery here: the job type, the REST blueprint and the page call service.py."""
