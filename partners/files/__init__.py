"""The inbound-file envelope (FILE_FORMATS.md, contract version 1.1).

`contract` describes the four kinds of file; `envelope` checks everything that does not need
programs or loans: the file name, the control file, the digest, the encoding, the CSV structure
and the header. Row content is validated and staged by `lending.intake`.
"""
