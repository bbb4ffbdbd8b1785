package fcn.data;

import java.nio.file.Path;

/** One labelled image of a {@link Dataset}: its id (file stem or split-file entry) and files. */
public record Sample(String id, Path image, Path label) {}
