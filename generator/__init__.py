"""Renders workbooks from the spec (`workbook_templates`): the fill-in workbook and its personalised copies.

The rendering itself is built in the generator issue; until then the spec and `udfs` are its inputs.
"""
