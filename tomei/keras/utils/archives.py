"""Archives for ``get_file(extract=True)``: the Keras 3 folder layout, and safe extraction.

Only tar (any compression ``tarfile`` reads) and zip archives are extracted. Members that
would land outside the extraction folder (absolute paths, ``..``, drive letters, links that
point outside, device files) are refused before anything is written. Extraction goes into a
temporary folder next to the destination, renamed into place when complete; a folder is only
ever replaced when an earlier extraction made it.
"""

import os
import shutil
import tarfile
import zipfile

from tomei.keras.utils.atomic_write import temp_folder_beside

__all__ = ["MARKER", "archive_layout", "extract_archive"]


def archive_layout(fname, fname_given):
    """Keras 3 naming: 'data.tar.gz' -> extract into 'data_extracted'; 'data' -> 'data_archive'."""
    if fname_given and "." in fname:
        return fname, fname[: fname.find(".")] + "_extracted"
    return fname + "_archive", fname


def _unsafe_member(name):
    """True for an archive member that would land outside the extraction folder."""
    normalized = name.replace("\\", "/")
    parts = normalized.split("/")
    return normalized.startswith("/") or ".." in parts or (len(name) > 1 and name[1] == ":")


def _extract_into(archive_path, folder, formats=("tar", "zip")):
    """Extracts a tar or zip archive (of the kinds in ``formats``) into the new folder
    ``folder``; refuses unsafe members."""
    if "tar" in formats and tarfile.is_tarfile(archive_path):
        with tarfile.open(archive_path) as archive:
            for member in archive.getmembers():
                bad_link = (member.issym() or member.islnk()) and _unsafe_member(member.linkname)
                if _unsafe_member(member.name) or bad_link or member.isdev():
                    raise ValueError(
                        f"Refusing to extract {archive_path}: member {member.name!r} would be "
                        "written outside the extraction folder or is a device."
                    )
            if hasattr(tarfile, "data_filter"):
                archive.extractall(folder, filter="data")
            else:  # Python < 3.11.4: the member check above is the only filter
                archive.extractall(folder)
        return
    if "zip" in formats and zipfile.is_zipfile(archive_path):
        with zipfile.ZipFile(archive_path) as archive:
            for name in archive.namelist():
                if _unsafe_member(name):
                    raise ValueError(
                        f"Refusing to extract {archive_path}: member {name!r} would be written "
                        "outside the extraction folder."
                    )
            archive.extractall(folder)
        return
    raise ValueError(f"extract=True, but {archive_path} is not a {' or '.join(formats)} "
                     f"archive (the kinds archive_format/untar allow).")


# A file inside every folder extract_archive makes: only such a folder is ever replaced.
MARKER = ".tomei-extracted"


def extract_archive(archive_path, destination, formats=("tar", "zip")):
    """Extracts ``archive_path`` into the folder ``destination``, atomically. ``formats``:
    the archive kinds accepted ('tar', 'zip').

    The archive is extracted into a temporary folder next to ``destination``
    (:func:`tomei.keras.utils.atomic_write.temp_folder_beside`), marked with a :data:`MARKER`
    file, then renamed onto ``destination``. An existing ``destination`` is replaced only when
    it carries that marker, that is when an earlier call made it: a folder tomei did not create
    is never deleted.

    Raises:
        ValueError: for an unsafe member or an archive that is neither tar nor zip.
        FileExistsError: when ``destination`` exists and was not made by this function.
    """
    if os.path.lexists(destination) and not _made_here(destination):
        raise FileExistsError(
            f"{destination} exists and was not extracted by get_file; tomei does not replace "
            "a folder it did not create. Remove it, or choose another fname or cache_subdir."
        )
    staging = temp_folder_beside(destination)
    try:
        _extract_into(archive_path, staging, formats)
        with open(os.path.join(staging, MARKER), "w", encoding="ascii") as marker:
            marker.write(os.path.basename(archive_path) + "\n")
        if _made_here(destination):
            shutil.rmtree(destination)
        try:
            os.replace(staging, destination)
        except OSError:
            if not os.path.isdir(destination):  # not another process winning the race
                raise
    finally:
        if os.path.isdir(staging):
            shutil.rmtree(staging, ignore_errors=True)


def _made_here(folder):
    """True for a real folder (not a link) holding :data:`MARKER`."""
    return (
        os.path.isdir(folder)
        and not os.path.islink(folder)
        and os.path.isfile(os.path.join(folder, MARKER))
    )
