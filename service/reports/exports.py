"""The annual return as files: CSV for systems, XLSX laid out for a person."""

from __future__ import annotations

import csv
import io

from service.reports.schemas import AnnualReturn


def annual_return_csv(report: AnnualReturn) -> str:
    """The return as CSV: a heading line, then each section with its title, header and rows."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([f"Safe accommodation annual return {report.financial_year}", report.authority_name])
    writer.writerow([report.note])
    for section in report.sections:
        writer.writerow([])
        writer.writerow([section.title])
        writer.writerow(section.columns)
        writer.writerows(section.rows)
    return out.getvalue()


def annual_return_xlsx(report: AnnualReturn) -> bytes:
    """The return as an XLSX workbook laid out for a person: one sheet, each section a titled table."""
    # openpyxl takes about 0.3 s to import: only when someone downloads a workbook, not at start-up.
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Annual return"
    sheet.append([f"Safe accommodation annual return {report.financial_year}"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([report.authority_name, f"{report.period.start.isoformat()} to {report.period.end.isoformat()}"])
    sheet.append([report.note])
    for section in report.sections:
        sheet.append([])
        sheet.append([section.title])
        sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
        sheet.append(section.columns)
        for column in range(1, len(section.columns) + 1):
            sheet.cell(row=sheet.max_row, column=column).font = Font(italic=True)
        for row in section.rows:
            sheet.append(row)
    sheet.column_dimensions["A"].width = 48
    for letter in "BCD":
        sheet.column_dimensions[letter].width = 16
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
